// gradest sweep CONFIG: a grid of training runs in parallel child processes (sweep/sweep.hpp, the
// run itself sweep/sweep_runner.hpp): options and progress display; and
// gradest merge: join run files.
#include <fmt/format.h>
#include <unistd.h>

#include <iostream>
#include <optional>
#include <thread>

#include "cli/commands.hpp"
#include "store/merge.hpp"
#include "sweep/sweep_runner.hpp"

namespace gradest::cli {

namespace {

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "?";
  const long s = static_cast<long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

std::string status_line(const sweep::SweepStatus& s) {
  return fmt::format("[{}/{}] done {}, running {}, failed {}, elapsed {}, ETA {}", s.done + s.failed, s.to_run, s.done,
                     s.running, s.failed, format_duration(s.elapsed_seconds), format_duration(s.eta_seconds()));
}

// The command line's options as the engine's; --dry-run and --help are the caller's.
sweep::SweepOptions sweep_options(const po::variables_map& vm, const Context& context) {
  sweep::SweepOptions options;
  options.config_path = vm.count("config") ? vm["config"].as<std::string>() : "";
  if (options.config_path.empty())
    throw UsageError("no CONFIG given; usage: gradest sweep CONFIG [--jobs N] [--out DIR] [--resume] [--shard i/n]");
  const int jobs = vm["jobs"].as<int>();
  if (jobs < 0) throw UsageError(fmt::format("--jobs must be >= 0 (0: all cores), got {}", jobs));
  options.jobs = jobs > 0 ? jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (vm.count("out")) options.out_dir = vm["out"].as<std::string>();
  options.resume = vm["resume"].as<bool>();
  options.force = vm["force"].as<bool>();
  if (options.resume && options.force) throw UsageError("--resume and --force exclude each other; pick one");
  options.shard = sweep::resolve_shard(vm.count("shard") ? std::optional(vm["shard"].as<std::string>()) : std::nullopt);
  options.command_line = context.command_line;
  return options;
}

void print_dry_run(const sweep::SweepPlan& plan) {
  const sweep::Shard& shard = plan.options.shard;
  std::cout << fmt::format("{} runs in the grid, {} in shard {}/{} ({})\n", plan.runs.size(), plan.mine.size(),
                           shard.index, shard.count, shard.source);
  for (const std::size_t i : plan.mine) std::cout << fmt::format("  {}  {}\n", plan.runs[i].id, plan.runs[i].label());
}

// One line per finished run; on a terminal, a status line redrawn below them.
sweep::SweepObserver progress_printer(const sweep::SweepPlan& plan) {
  const bool tty = ::isatty(STDOUT_FILENO);
  sweep::SweepObserver observer;
  observer.on_begin = [&plan](const sweep::SweepStatus& s) {
    const sweep::Shard& shard = plan.options.shard;
    std::cout << fmt::format("sweep {}: {} runs in the grid, {} in shard {}/{} ({}), {} done already, {} to run on {} jobs\n",
                             plan.spec.name, plan.runs.size(), plan.mine.size(), shard.index, shard.count, shard.source,
                             s.already, s.to_run, s.jobs)
              << std::flush;
  };
  observer.on_run_finished = [tty](const sweep::SweepStatus& s, const sweep::RunSpec& run, const sweep::JobResult& result,
                                   const std::string& log_path) {
    const bool ok = result.exit_status == 0;
    if (tty) std::cout << "\r\033[K";
    std::cout << fmt::format("{} {} {} ({}){}\n", ok ? "done  " : "FAILED", run.id, run.label(),
                             format_duration(result.seconds),
                             ok ? "" : fmt::format(": exit {}, see {}", result.exit_status, log_path))
              << std::flush;
    if (tty) std::cout << status_line(s) << std::flush;
  };
  observer.on_tick = [tty](const sweep::SweepStatus& s) {
    if (tty) std::cout << "\r\033[K" << status_line(s) << std::flush;
  };
  observer.on_runs_ended = [tty](const sweep::SweepStatus& s) {
    if (tty) std::cout << "\r\033[K";
    std::cout << status_line(s) << "\n";
  };
  return observer;
}

}  // namespace

int run_sweep(const std::vector<std::string>& args, const Context& context) {
  po::options_description options("sweep options");
  options.add_options()
      ("config", po::value<std::string>(), "the sweep's INI file (positional)")
      ("jobs,j", po::value<int>()->default_value(0), "runs at once (0: all cores)")
      ("out", po::value<std::string>(), "output folder (default results/<sweep name>)")
      ("resume", po::bool_switch(), "run only what is missing from the output folder")
      ("force", po::bool_switch(), "start over in an output folder that holds results")
      ("shard", po::value<std::string>(), "this process's share i/n of the grid (0 <= i < n); default from "
                                       "SLURM_ARRAY_TASK_ID/COUNT, SLURM_PROCID/NTASKS, OMPI_COMM_WORLD_RANK/SIZE, PMI_RANK/SIZE")
      ("dry-run", po::bool_switch(), "list the runs of this shard and exit");
  po::positional_options_description positional;
  positional.add("config", 1);
  po::variables_map vm;
  if (!parse(args, options, &positional, vm)) {
    print_help("sweep", "CONFIG [--jobs N] [--out DIR] [--resume] [--shard i/n]", options);
    return 0;
  }
  const sweep::SweepPlan plan = sweep::plan_sweep(sweep_options(vm, context));
  if (vm["dry-run"].as<bool>()) {
    print_dry_run(plan);
    return 0;
  }
  const sweep::SweepResult result = sweep::run_sweep(plan, progress_printer(plan));
  if (!result.complete) {
    std::cout << "interrupted: finished runs are kept; complete the sweep with --resume\n";
    return 130;
  }
  std::cout << fmt::format("wrote {} ({} runs)\n", result.merged_path, result.merged_runs);
  return result.status.failed > 0 ? 1 : 0;
}

int run_merge(const std::vector<std::string>& args, const Context& context) {
  po::options_description options("merge options");
  std::vector<std::string> inputs;
  std::string output;
  options.add_options()
      ("inputs", po::value(&inputs)->multitoken(), "gradest .h5 files (positional)")
      ("out,o", po::value(&output), "the merged file")
      ("force", po::bool_switch(), "overwrite the output file");
  po::positional_options_description positional;
  positional.add("inputs", -1);
  po::variables_map vm;
  if (!parse(args, options, &positional, vm)) {
    print_help("merge", "A.h5 B.h5 ... -o all.h5", options);
    return 0;
  }
  if (output.empty()) throw UsageError("no output file; give -o all.h5");
  if (inputs.empty()) throw UsageError("no input files; give one or more gradest .h5 files");
  h5::RunMetadata metadata{context.command_line, 0, ""};
  const std::size_t n = merge::merge_files(inputs, output, vm["force"].as<bool>(), metadata);
  std::cout << fmt::format("wrote {} ({} runs from {} files)\n", output, n, inputs.size());
  return 0;
}

}  // namespace gradest::cli
