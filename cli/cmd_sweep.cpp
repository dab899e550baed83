// gradest sweep CONFIG: a grid of training runs in parallel child processes (see sweep.hpp), and
// gradest merge: join run files.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "cli/commands.hpp"
#include "store/merge.hpp"
#include "sweep/process_pool.hpp"
#include "sweep/sweep.hpp"

namespace gradest::cli {

namespace fs = std::filesystem;

namespace {

// Resolves and validates one run by asking `gradest train` (the single owner of training options
// and their defaults) for the run's id without running it.
std::string resolve_run_id(const sweep::RunSpec& run, const std::string& config_path) {
  std::vector<std::string> args{"train"};
  args.insert(args.end(), run.args.begin(), run.args.end());
  args.push_back("--print-run-id");
  const auto captured = sweep::run_and_capture(args);
  std::string out = trim(captured.output);
  if (captured.exit_status != 0) {
    // "gradest train: <message>" -> "<config>: run <label>: <message>"
    if (const auto colon = out.find(": "); out.rfind("gradest train", 0) == 0 && colon != std::string::npos)
      out = out.substr(colon + 2);
    for (auto& c : out)
      if (c == '\n') c = ' ';
    throw UsageError(fmt::format("{}: run {}: {}", config_path, run.label(), out));
  }
  return out;
}

// A run file counts as finished when it is readable and its run ended (completed or diverged);
// an interrupted run is run again.
bool finished_run_file(const std::string& path, const std::string& id) {
  try {
    H5::H5File file(path, H5F_ACC_RDONLY);
    if (!file.nameExists("/runs/" + id)) return false;
    H5::Group run = file.openGroup("/runs/" + id);
    if (!run.attrExists("status")) return false;
    const std::string status = h5::read_string_attribute(run, "status");
    return status == "completed" || status == "diverged";
  } catch (const H5::Exception&) {
    return false;
  }
}

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "?";
  const long s = static_cast<long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

}  // namespace

int run_sweep(const std::vector<std::string>& args, const Context& context) {
  po::options_description options("sweep options");
  std::string config_path, out_dir, shard_flag;
  int jobs = 0;
  options.add_options()
      ("config", po::value(&config_path), "the sweep's INI file (positional)")
      ("jobs,j", po::value(&jobs)->default_value(0), "runs at once (0: all cores)")
      ("out", po::value(&out_dir), "output folder (default results/<sweep name>)")
      ("resume", po::bool_switch(), "run only what is missing from the output folder")
      ("force", po::bool_switch(), "start over in an output folder that holds results")
      ("shard", po::value(&shard_flag), "this process's share i/n of the grid (0 <= i < n); default from "
                                       "SLURM_ARRAY_TASK_ID/COUNT, SLURM_PROCID/NTASKS, OMPI_COMM_WORLD_RANK/SIZE, PMI_RANK/SIZE")
      ("dry-run", po::bool_switch(), "list the runs of this shard and exit");
  po::positional_options_description positional;
  positional.add("config", 1);
  po::variables_map vm;
  if (!parse(args, options, &positional, vm)) {
    print_help("sweep", "CONFIG [--jobs N] [--out DIR] [--resume] [--shard i/n]", options);
    return 0;
  }
  if (config_path.empty()) throw UsageError("no CONFIG given; usage: gradest sweep CONFIG [--jobs N] [--out DIR] [--resume] [--shard i/n]");
  if (jobs < 0) throw UsageError(fmt::format("--jobs must be >= 0 (0: all cores), got {}", jobs));
  if (jobs == 0) jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const bool resume = vm["resume"].as<bool>(), force = vm["force"].as<bool>();
  if (resume && force) throw UsageError("--resume and --force exclude each other; pick one");
  const auto shard = sweep::resolve_shard(vm.count("shard") ? std::optional<std::string>(shard_flag) : std::nullopt);

  const sweep::SweepSpec spec = sweep::read_config(config_path);
  std::vector<sweep::RunSpec> runs = sweep::expand(spec);
  if (runs.empty()) throw UsageError(fmt::format("{}: the grid is empty (every run is excluded)", config_path));
  // Every run is validated (and its id resolved) before any starts.
  std::map<std::string, std::size_t> ids;
  for (auto& run : runs) {
    run.id = resolve_run_id(run, config_path);
    if (auto [it, fresh] = ids.emplace(run.id, run.index); !fresh)
      throw UsageError(fmt::format("{}: runs {} and {} resolve to the same configuration", config_path,
                                   runs[it->second].label(), run.label()));
  }
  if (out_dir.empty()) out_dir = "results/" + spec.name;
  const fs::path dir(out_dir), run_dir = dir / "runs", log_dir = dir / "logs";
  std::error_code ec;
  const bool has_results = fs::exists(run_dir, ec) && !fs::is_empty(run_dir, ec);
  if (has_results && !resume && !force)
    throw UsageError(fmt::format("output folder '{}' holds results; pass --resume to complete it or --force to start over", out_dir));

  std::vector<const sweep::RunSpec*> mine;
  for (const auto& run : runs)
    if (shard.owns(run.index)) mine.push_back(&run);
  if (vm["dry-run"].as<bool>()) {
    std::cout << fmt::format("{} runs in the grid, {} in shard {}/{} ({})\n", runs.size(), mine.size(), shard.index,
                             shard.count, shard.source);
    for (const auto* run : mine) std::cout << fmt::format("  {}  {}\n", run->id, run->label());
    return 0;
  }
  fs::create_directories(run_dir, ec);
  fs::create_directories(log_dir, ec);
  if (ec || ::access(run_dir.c_str(), W_OK) != 0) throw UsageError(fmt::format("cannot write to '{}'", run_dir.string()));
  if (force)
    for (const auto* run : mine) fs::remove(run_dir / (run->id + ".h5"), ec);

  std::vector<sweep::Job> todo;
  std::vector<const sweep::RunSpec*> todo_runs;
  std::size_t already = 0;
  for (const auto* run : mine) {
    const fs::path file = run_dir / (run->id + ".h5");
    // Leftovers of runs cut off by a kill: never complete, never counted.
    for (const auto& entry : fs::directory_iterator(run_dir, ec))
      if (entry.path().filename().string().rfind(run->id + ".h5.partial-", 0) == 0) fs::remove(entry.path(), ec);
    if (fs::exists(file)) {
      if (finished_run_file(file.string(), run->id)) {
        ++already;
        continue;
      }
      fs::remove(file, ec);  // interrupted or unreadable: run again
    }
    sweep::Job job;
    job.args = {"train"};
    job.args.insert(job.args.end(), run->args.begin(), run->args.end());
    job.args.insert(job.args.end(), {"--out", file.string()});
    job.log_path = (log_dir / (run->id + ".log")).string();
    todo.push_back(std::move(job));
    todo_runs.push_back(run);
  }

  const bool tty = ::isatty(STDOUT_FILENO);
  std::cout << fmt::format("sweep {}: {} runs in the grid, {} in shard {}/{} ({}), {} done already, {} to run on {} jobs\n",
                           spec.name, runs.size(), mine.size(), shard.index, shard.count, shard.source, already,
                           todo.size(), jobs)
            << std::flush;
  std::size_t done = 0, failed = 0, running = 0;
  const auto start = std::chrono::steady_clock::now();
  double finished_seconds = 0;
  auto status_line = [&] {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double per_run = done + failed > 0 ? finished_seconds / double(done + failed) : -1;
    const double eta = per_run < 0 ? -1 : per_run * double(todo.size() - done - failed) / double(jobs);
    return fmt::format("[{}/{}] done {}, running {}, failed {}, elapsed {}, ETA {}", done + failed, todo.size(), done,
                       running, failed, format_duration(elapsed), format_duration(eta));
  };
  sweep::install_interrupt_handler();
  const bool complete = sweep::run_jobs(
      todo, jobs, [&](std::size_t) { ++running; },
      [&](std::size_t j, const sweep::JobResult& result) {
        --running;
        finished_seconds += result.seconds;
        const bool ok = result.exit_status == 0;
        (ok ? done : failed) += 1;
        if (tty) std::cout << "\r\033[K";
        std::cout << fmt::format("{} {} {} ({}){}\n", ok ? "done  " : "FAILED", todo_runs[j]->id, todo_runs[j]->label(),
                                 format_duration(result.seconds),
                                 ok ? "" : fmt::format(": exit {}, see {}", result.exit_status, todo[j].log_path))
                  << std::flush;
        if (tty) std::cout << status_line() << std::flush;
      },
      [&] {
        if (tty) std::cout << "\r\033[K" << status_line() << std::flush;
      });
  if (tty) std::cout << "\r\033[K";
  std::cout << status_line() << "\n";
  if (!complete) {
    std::cout << "interrupted: finished runs are kept; complete the sweep with --resume\n";
    return 130;
  }
  // Join this shard's finished runs into one file.
  std::vector<std::string> files;
  for (const auto* run : mine)
    if (fs::exists(run_dir / (run->id + ".h5"))) files.push_back((run_dir / (run->id + ".h5")).string());
  const std::string merged = shard.count == 1 ? (dir / "sweep.h5").string()
                                              : (dir / fmt::format("sweep-shard-{}-of-{}.h5", shard.index, shard.count)).string();
  h5::RunMetadata metadata{context.command_line, 0, "sweep_config = " + config_path};
  const std::size_t n = merge::merge_files(files, merged, /*overwrite=*/true, metadata);
  std::cout << fmt::format("wrote {} ({} runs)\n", merged, n);
  return failed > 0 ? 1 : 0;
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
