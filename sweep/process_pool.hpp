#pragma once
// Runs child processes, at most `jobs` at a time: the sweep's engine. Children are this very
// binary (/proc/self/exe) with other arguments, their stdout and stderr sent to a log file each.
// SIGINT/SIGTERM to the parent are forwarded to the running children; no new child starts after.
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace gradest::sweep {

struct Job {
  std::vector<std::string> args;  // argv[1..] of the child
  std::string log_path;           // stdout+stderr of the child
};

struct JobResult {
  int exit_status = -1;  // exit code, or 128+signal
  double seconds = 0;
};

// Runs all jobs; calls on_start/on_finish from this thread (never concurrently). Returns false if
// interrupted (SIGINT or SIGTERM) before all jobs finished.
bool run_jobs(const std::vector<Job>& jobs, int max_parallel,
              const std::function<void(std::size_t)>& on_start,
              const std::function<void(std::size_t, const JobResult&)>& on_finish,
              const std::function<void()>& on_tick);

// True after SIGINT/SIGTERM was received by a process that called install_interrupt_handler().
bool interrupted();
void install_interrupt_handler();

}  // namespace gradest::sweep

namespace gradest::sweep {
// Runs this binary with `args` and waits; returns its exit status and everything it printed.
struct Captured {
  int exit_status = -1;
  std::string output;
};
Captured run_and_capture(const std::vector<std::string>& args);
}  // namespace gradest::sweep
