#include "sweep/sweep_runner.hpp"

#include <H5Cpp.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>

#include "core/errors.hpp"
#include "core/files.hpp"
#include "core/text.hpp"
#include "store/h5io.hpp"
#include "store/merge.hpp"

namespace gradest::sweep {

namespace fs = std::filesystem;

namespace {

// Resolves and validates one run by asking `gradest train` (the single owner of training options
// and their defaults) for the run's id without running it.
std::string resolve_run_id(const RunSpec& run, const std::string& config_path) {
  std::vector<std::string> args{"train"};
  args.insert(args.end(), run.args.begin(), run.args.end());
  args.push_back("--print-run-id");
  const auto captured = run_and_capture(args);
  std::string out = text::trim(captured.output);
  if (captured.exit_status != 0) {
    // "gradest train: <message>" -> "<config>: run <label>: <message>"
    if (const auto colon = out.find(": "); out.rfind("gradest train", 0) == 0 && colon != std::string::npos)
      out = out.substr(colon + 2);
    for (auto& c : out)
      if (c == '\n') c = ' ';
    throw ConfigError(fmt::format("{}: run {}: {}", config_path, run.label(), out));
  }
  return out;
}

// A run file counts as finished when it is readable and its run ended (completed or diverged);
// an interrupted run is run again.
bool finished_run_file(const std::string& path, const std::string& id) {
  try {
    const H5::H5File file = h5::open_run_file(path, "sweep run file");
    const H5::Group root = file.openGroup("/");
    if (id.find('/') != std::string::npos || !h5::exists(root, "runs/" + id)) return false;
    const H5::Group run = h5::open_group(root, "runs/" + id);
    if (!h5::exists_attribute(run, "status")) return false;
    const std::string status = h5::read_string_attribute(run, "status");
    return status == "completed" || status == "diverged";
  } catch (const Error&) {  // unreadable, corrupted, not a run file: run it again
    return false;
  } catch (const H5::Exception&) {
    return false;
  }
}

fs::path run_file(const SweepPlan& plan, const RunSpec& run) {
  return fs::path(plan.options.out_dir) / "runs" / (run.id + ".h5");
}

struct Todo {
  std::vector<Job> jobs;
  std::vector<const RunSpec*> runs;  // parallel to jobs
  std::size_t already = 0;
};

// Creates the folders, clears this shard's files per --force and leftovers of killed runs, and lists
// the runs still to do.
Todo prepare_output(const SweepPlan& plan) {
  const fs::path dir(plan.options.out_dir), run_dir = dir / "runs", log_dir = dir / "logs";
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  fs::create_directories(log_dir, ec);
  if (ec || ::access(run_dir.c_str(), W_OK) != 0)
    throw InputError(fmt::format("cannot write to '{}'", run_dir.string()));
  if (plan.options.force)
    for (const std::size_t i : plan.mine) fs::remove(run_file(plan, plan.runs[i]), ec);
  Todo todo;
  for (const std::size_t i : plan.mine) {
    const RunSpec& run = plan.runs[i];
    const fs::path file = run_file(plan, run);
    // Leftovers of runs cut off by a kill: never complete, never counted.
    for (const auto& entry : fs::directory_iterator(run_dir, ec))
      if (entry.path().filename().string().rfind(run.id + ".h5.partial-", 0) == 0) fs::remove(entry.path(), ec);
    if (fs::exists(file)) {
      if (finished_run_file(file.string(), run.id)) {
        ++todo.already;
        continue;
      }
      fs::remove(file, ec);  // interrupted or unreadable: run again
    }
    Job job;
    job.args = {"train"};
    job.args.insert(job.args.end(), run.args.begin(), run.args.end());
    job.args.insert(job.args.end(), {"--out", file.string()});
    job.log_path = (log_dir / (run.id + ".log")).string();
    todo.jobs.push_back(std::move(job));
    todo.runs.push_back(&run);
  }
  return todo;
}

// Joins this shard's finished runs into one file.
void merge_shard(const SweepPlan& plan, SweepResult& result) {
  std::vector<std::string> files;
  for (const std::size_t i : plan.mine)
    if (const fs::path file = run_file(plan, plan.runs[i]); fs::exists(file)) files.push_back(file.string());
  const fs::path dir(plan.options.out_dir);
  const Shard& shard = plan.options.shard;
  result.merged_path = shard.count == 1
                           ? (dir / "sweep.h5").string()
                           : (dir / fmt::format("sweep-shard-{}-of-{}.h5", shard.index, shard.count)).string();
  h5::RunMetadata metadata{plan.options.command_line, 0, "sweep_config = " + plan.options.config_path};
  result.merged_runs = merge::merge_files(files, result.merged_path, /*overwrite=*/true, metadata);
}

void notify(const std::function<void(const SweepStatus&)>& callback, const SweepStatus& status) {
  if (callback) callback(status);
}

}  // namespace

double SweepStatus::eta_seconds() const {
  const double per_run = done + failed > 0 ? finished_run_seconds / double(done + failed) : -1;
  return per_run < 0 ? -1 : per_run * double(to_run - done - failed) / double(jobs);
}

SweepPlan plan_sweep(const SweepOptions& options) {
  SweepPlan plan{options, read_config(options.config_path), {}, {}};
  const std::string& config_path = options.config_path;
  plan.runs = expand(plan.spec);
  if (plan.runs.empty()) throw ConfigError(fmt::format("{}: the grid is empty (every run is excluded)", config_path));
  // Every run is validated (and its id resolved) before any starts.
  std::map<std::string, std::size_t> ids;
  for (auto& run : plan.runs) {
    run.id = resolve_run_id(run, config_path);
    if (auto [it, fresh] = ids.emplace(run.id, run.index); !fresh)
      throw ConfigError(fmt::format("{}: runs {} and {} resolve to the same configuration", config_path,
                                    plan.runs[it->second].label(), run.label()));
  }
  if (plan.options.out_dir.empty()) plan.options.out_dir = "results/" + plan.spec.name;
  const fs::path run_dir = fs::path(plan.options.out_dir) / "runs";
  std::error_code ec;
  const bool has_results = fs::exists(run_dir, ec) && !fs::is_empty(run_dir, ec);
  if (has_results && !options.resume && !options.force)
    throw InputError(
        fmt::format("output folder '{}' holds results; pass --resume to complete it or --force to start over",
                    plan.options.out_dir));
  for (const auto& run : plan.runs)
    if (options.shard.owns(run.index)) plan.mine.push_back(run.index);
  return plan;
}

SweepResult run_sweep(const SweepPlan& plan, const SweepObserver& observer) {
  // One sweep (or shard) per output folder at a time: a second one is refused, naming the first.
  const fs::path dir(plan.options.out_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  const Shard& shard = plan.options.shard;
  const std::string lock_name = shard.count == 1 ? std::string(".sweep.lock")
                                                 : fmt::format(".sweep-shard-{}-of-{}.lock", shard.index, shard.count);
  const files::ExclusiveLock lock((dir / lock_name).string(),
                                  shard.count == 1 ? fmt::format("output folder '{}'", dir.string())
                                                   : fmt::format("shard {} of {} in output folder '{}'", shard.index,
                                                                 shard.count, dir.string()));
  const Todo todo = prepare_output(plan);
  SweepResult result;
  SweepStatus& status = result.status;
  status.to_run = todo.jobs.size();
  status.already = todo.already;
  status.jobs = plan.options.jobs;
  notify(observer.on_begin, status);
  const auto start = std::chrono::steady_clock::now();
  auto now = [&]() -> const SweepStatus& {
    status.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return status;
  };
  install_interrupt_handler();
  result.complete = run_jobs(
      todo.jobs, plan.options.jobs, [&](std::size_t) { ++status.running; },
      [&](std::size_t j, const JobResult& job) {
        --status.running;
        status.finished_run_seconds += job.seconds;
        (job.exit_status == 0 ? status.done : status.failed) += 1;
        if (observer.on_run_finished) observer.on_run_finished(now(), *todo.runs[j], job, todo.jobs[j].log_path);
      },
      [&] { notify(observer.on_tick, now()); });
  notify(observer.on_runs_ended, now());
  if (result.complete) merge_shard(plan, result);
  return result;
}

}  // namespace gradest::sweep
