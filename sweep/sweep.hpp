#pragma once
// Sweeps: a grid of training runs from an INI file, run in parallel child processes, resumable,
// and split deterministically across the shards of a cluster job.
//
// CONFIG (Boost.Program_options config-file syntax):
//   [sweep]                       sweep-level keys
//   name = fashion-bvae-linear    used for the default output folder results/<name>
//   exclude = estimator=vimco samples=1     a run matching ALL pairs is left out (repeatable)
//   [train]                       every other key is a `gradest train` option, without "--"
//   model = bernoulli-vae
//   estimator = reinforce-loo, arm, disarm  a grid key: a comma list ...
//   seed = 1..5                             ... or an integer range
//   encoder = linear | 200,200              keys whose value is itself a list (encoder, decoder,
//                                           probe-estimators, baseline-hidden) separate grid values by '|'
//   ('|' separates grid values for any key.)
// The runs are the Cartesian product of the grid keys in file order (the last key varies
// fastest) minus exclusions. A run's id is a hash of its fully resolved training configuration, so
// the same run has the same id on any machine, in any order, in any shard.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gradest::sweep {

using Setting = std::pair<std::string, std::string>;

// The longest value a sweep config may give a key (each value is one argument of a child process).
inline constexpr std::size_t kMaxValueLength = 4096;

struct SweepSpec {
  std::string name;
  std::vector<std::pair<std::string, std::vector<std::string>>> keys;  // file order
  std::vector<std::vector<Setting>> exclusions;
};

struct RunSpec {
  std::size_t index = 0;          // position in the expanded grid (before sharding)
  std::vector<Setting> settings;  // key = value, file order
  std::string id;                 // stable id of the resolved configuration
  std::vector<std::string> args;  // `gradest train` arguments, without --out
  std::string label() const;      // "estimator=arm seed=2" (grid keys only)
  std::vector<std::string> grid_keys;
};

// Reads and checks the file's syntax: unreadable file, malformed lines, empty values, empty grids
// and malformed exclusions throw ConfigError naming the file, line or key.
SweepSpec read_config(const std::string& path);
SweepSpec parse_config(const std::string& text, const std::string& source);

// Keys whose single value is itself a comma list; their grids separate values with '|'.
bool is_list_valued(const std::string& key);

// The grid, minus exclusions, in deterministic order.
std::vector<RunSpec> expand(const SweepSpec& spec);

struct Shard {
  int index = 0;  // 0-based
  int count = 1;
  std::string source;  // "--shard", "SLURM_ARRAY_TASK_ID", "OMPI_COMM_WORLD_RANK", ... or "none"
  bool owns(std::size_t run_index) const { return run_index % static_cast<std::size_t>(count) == static_cast<std::size_t>(index); }
};
// From "--shard i/n" (0 <= i < n) if given, else the environment: SLURM_ARRAY_TASK_ID (minus
// SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_COUNT, SLURM_PROCID / SLURM_NTASKS,
// OMPI_COMM_WORLD_RANK / OMPI_COMM_WORLD_SIZE, PMI_RANK / PMI_SIZE; else 0/1.
Shard resolve_shard(const std::optional<std::string>& flag);
Shard resolve_shard(const std::optional<std::string>& flag, const std::function<const char*(const char*)>& getenv);

}  // namespace gradest::sweep
