#pragma once
// Sizes are bounded before anything is allocated.
//
// A command works out, from its options alone, how many bytes its largest allocations will take
// (a lower bound: what it cannot run without) and calls `require_memory` first. Above the memory
// this process may use, it stops with one line naming the options to reduce, the memory the run
// would need and the limit with its source:
//   "--latents 1000000, --encoder linear, --decoder linear: an evaluation chunk of 8192 rows through
//    the widest layer (1000000 units), with the rest of the run, would need at least 67.8 GB; this
//    process may use 4.1 GB (ulimit -v); reduce --latents, --latent-categories, --encoder or --decoder"
// The limit is the smallest of physical memory, the address-space and data-segment limits
// (ulimit -v, ulimit -d) and the cgroup's memory.max (Slurm and containers set it).
// An allocation that still fails (the estimate is a lower bound) ends in one line too: main()
// reports std::bad_alloc with `out_of_memory_message`.
#include <cstdint>
#include <string>
#include <string_view>

namespace gradest::limits {

struct MemoryLimit {
  double bytes = 0;
  std::string source;  // "physical memory", "ulimit -v", "ulimit -d", "cgroup memory.max"
};

// The memory this process may allocate, read once per call (cheap: a few syscalls and one file).
MemoryLimit memory_limit();

// "1.5 GB", "977 MB", "12 kB".
std::string human_bytes(double bytes);

// Empty if `bytes` fits in memory_limit(); else the one-line message require_memory throws.
std::string memory_shortfall(std::string_view subject, std::string_view what, double bytes, std::string_view options);

// Throws ConfigError if `bytes` exceeds memory_limit(): "<subject>: <what> would need at least <bytes>;
// this process may use <limit> (<source>); reduce <options>".
void require_memory(std::string_view subject, std::string_view what, double bytes, std::string_view options);

// The line main() prints for a std::bad_alloc.
std::string out_of_memory_message();

// At most this many objective evaluations (draws of z) per command: 1e12 is days of CPU time.
inline constexpr double kMaxEvaluations = 1e12;
// Empty if evaluations <= kMaxEvaluations; else "<subject>: <evaluations> objective evaluations,
// more than the 1e12 one command may ask for (days of CPU time); lower <options>".
std::string work_shortfall(std::string_view subject, double evaluations, std::string_view options);

// Throws ConfigError unless 1 <= value <= max: "--<option> must be between 1 and <max>, got <value>".
// For counts that cost time rather than memory (samples per estimate, draws).
void require_count(std::string_view option, double value, double max);

}  // namespace gradest::limits
