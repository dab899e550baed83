#pragma once
// Running a sweep (gradest sweep CONFIG): plan the grid, then run this shard's missing runs as
// child `gradest train` processes and join its finished runs into one file.
//
// Output folder DIR (default results/<sweep name>):
//   DIR/runs/<id>.h5      one file per run (a run's id: sweep.hpp)
//   DIR/logs/<id>.log     each child's stdout and stderr
//   DIR/sweep.h5          the shard's runs merged (one shard), or
//   DIR/sweep-shard-<i>-of-<n>.h5
// A run counts as done when its file is readable and its run ended (completed or diverged);
// anything else (an interrupted run, the partial file of a killed one) is removed and run again.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "sweep/process_pool.hpp"
#include "sweep/sweep.hpp"

namespace gradest::sweep {

struct SweepOptions {
  std::string config_path;  // the INI file
  int jobs = 1;             // runs at once (>= 1)
  std::string out_dir;      // empty: results/<sweep name>
  bool resume = false;      // complete an output folder that holds results
  bool force = false;       // start over in an output folder that holds results (removes this shard's run files)
  Shard shard;
  std::string command_line;  // recorded in the merged file
};

// The grid with every run validated and its id resolved (by `gradest train --print-run-id` in a
// child process), and this shard's share of it. Nothing is written.
struct SweepPlan {
  SweepOptions options;  // out_dir resolved
  SweepSpec spec;
  std::vector<RunSpec> runs;      // the whole grid
  std::vector<std::size_t> mine;  // indices into runs: this shard's runs
};

// Throws ConfigError for a bad config, an empty grid, a run `gradest train` refuses (its message,
// "CONFIG: run LABEL: ...") or two runs with the same id, and InputError for an output folder
// that holds results without resume or force.
SweepPlan plan_sweep(const SweepOptions& options);

// Counts while the sweep runs, for progress display.
struct SweepStatus {
  std::size_t to_run = 0;   // runs started by this call
  std::size_t already = 0;  // this shard's runs finished before it
  std::size_t done = 0, failed = 0, running = 0;
  int jobs = 1;
  double elapsed_seconds = 0;       // since the first run started
  double finished_run_seconds = 0;  // summed over the finished runs
  // Remaining time from the mean time of a finished run; -1 before any finished.
  double eta_seconds() const;
};

struct SweepObserver {
  // Before any run starts (the runs to do are known).
  std::function<void(const SweepStatus&)> on_begin;
  std::function<void(const SweepStatus&, const RunSpec& run, const JobResult& result, const std::string& log_path)>
      on_run_finished;
  std::function<void(const SweepStatus&)> on_tick;        // periodically while runs are going
  std::function<void(const SweepStatus&)> on_runs_ended;  // after the last run, before merging
};

struct SweepResult {
  SweepStatus status;
  bool complete = false;    // false: interrupted (SIGINT/SIGTERM); finished runs kept, nothing merged
  std::string merged_path;  // the shard's merged file
  std::size_t merged_runs = 0;
};

// Creates the output folder (InputError if it cannot be written), removes this shard's run files
// with options.force, runs what is missing on options.jobs processes, and merges this shard's
// finished runs. SIGINT/SIGTERM are forwarded to the running children.
SweepResult run_sweep(const SweepPlan& plan, const SweepObserver& observer = {});

}  // namespace gradest::sweep
