// gradest train: one VAE training run, recorded in HDF5 (run/train.hpp has the schema): options,
// progress display and signals. The output file (written as "<out>.partial-<pid>", renamed when the
// run ends, also when interrupted by SIGINT/SIGTERM) is run/train_output.hpp.
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"
#include "store/h5io.hpp"
#include "run/train.hpp"
#include "run/train_output.hpp"
#include "cli/probe_options.hpp"
#include "run/probe.hpp"

namespace gradest::cli {

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = std::int64_t(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

}  // namespace

// Parses the train options into a resolved, valid config (throws UsageError). Shared by tests.
train::TrainConfig parse_train_config(const po::variables_map& vm) {
  train::TrainConfig config;
  if (vm.count("disarm-protocol")) train::apply_disarm_protocol(config);
  for (const auto& key : train::config_keys()) {
    const std::string name(key.name);
    if (vm.count(name)) train::set_config_value(config, name, vm[name].as<std::string>());
  }
  std::string error;
  if (!config.valid(&error)) throw UsageError(error);
  config.resolve();
  return config;
}

namespace {

po::options_description train_options() {
  po::options_description options("train options");
  options.add_options()("out,o", po::value<std::string>(), "output HDF5 file (required)")(
      "force", "overwrite an existing output file")(
      "disarm-protocol",
      "the DisARM protocol for the linear Bernoulli VAE: 200 latents, batch 50, Adam 1e-4, prior logits by SGD 1e-2, "
      "centred input, decoder input 2b-1, output bias = logit of the training mean (explicit options override it)")(
      "quiet", "no progress output")(
      "print-run-id", "check the options, print the run's id and exit without running (used by gradest sweep)");
  add_probe_options(options);  // --probe-every, --probe-estimators, --probe-draws (cli/probe_options.hpp)
  for (const auto& key : train::config_keys())
    options.add_options()(std::string(key.name).c_str(), po::value<std::string>(),
                          fmt::format("{} [{}]", key.help, key.get(train::TrainConfig{})).c_str());
  return options;
}

// Progress on stdout: the run's banner, a line per evaluation and, on a terminal, a step counter
// redrawn at most every 250 ms.
class ProgressPrinter {
 public:
  explicit ProgressPrinter(const train::TrainConfig& config) : config_(config) {}
  bool tty() const { return tty_; }

  void print_banner(const train::TrainOutput& output) const {
    const data::DataSplits& data = output.data();
    std::cout << fmt::format("run {}: {} on {} ({} train / {} test examples), {} steps, estimator {}\n", output.run_id(),
                             train::vae_model(config_.model).name, data.source, data.train.size(), data.test.size(),
                             config_.steps, config_.estimator)
              << std::flush;
    if (data.truth && std::isfinite(data.truth->test_log_likelihood))
      std::cout << fmt::format("true model: mean log-likelihood train {:.4f}, test {:.4f} nats\n",
                               data.truth->train_log_likelihood, data.truth->test_log_likelihood);
  }

  // The printer must outlive the hooks.
  void install(train::TrainHooks& hooks) {
    hooks.progress = [this](std::int64_t step, double sps, const train::EvalRecord& latest) {
      if (!tty_) return;
      const auto now = Clock::now();
      if (now - last_draw_ < std::chrono::milliseconds(250) && step != config_.steps) return;
      last_draw_ = now;
      std::cout << fmt::format("\rstep {}/{}  {:.0f} steps/s  test ELBO {:.2f}  KL {:.2f}  ETA {}   ", step,
                               config_.steps, sps, latest.test_elbo, latest.kl,
                               format_duration(double(config_.steps - step) / sps))
                << std::flush;
    };
    hooks.on_eval = [this](const train::EvalRecord& r) {
      std::cout << fmt::format("{}step {:>8}  train ELBO {:9.3f}  test ELBO {:9.3f}  IWAE(K={}) {:9.3f}  recon {:9.3f}  "
                               "KL {:8.3f}  active {:>4.0f}  {:6.0f} steps/s  {:>8}\n",
                               tty_ ? "\r" : "", r.step, r.train_elbo, r.test_elbo, config_.iwae_samples, r.test_iwae,
                               r.recon, r.kl, r.active_units, r.steps_per_second, format_duration(r.wall_time))
                << std::flush;
    };
  }

  void print_end(const train::TrainResult& result, const std::string& out, const std::string& id) const {
    if (tty_) std::cout << "\n";
    std::cout << fmt::format("{}: {} steps in {}; wrote {} (/runs/{})\n", train::to_string(result.status),
                             result.steps_completed, format_duration(result.seconds), out, id);
    if (result.has_final)
      std::cout << fmt::format("final, whole test set ({} examples): ELBO {:.3f}  IWAE(K={}) {:.3f}  recon {:.3f}  KL {:.3f}  "
                               "active units {}\n",
                               result.final_eval.examples, result.final_eval.elbo, config_.iwae_samples,
                               result.final_eval.iwae, result.final_eval.recon, result.final_eval.kl,
                               result.final_eval.active_units);
  }

 private:
  using Clock = std::chrono::steady_clock;
  const train::TrainConfig& config_;
  const bool tty_ = ::isatty(::fileno(stdout)) != 0;
  Clock::time_point last_draw_ = Clock::now();
};

// Runs with SIGINT and SIGTERM stopping the run after its current step (status "interrupted").
train::TrainResult run_interruptible(train::TrainOutput& output, train::TrainHooks hooks) {
  g_stop.store(false);
  hooks.stop = &g_stop;
  auto previous_int = std::signal(SIGINT, on_signal);
  auto previous_term = std::signal(SIGTERM, on_signal);
  const train::TrainResult result = output.run(hooks);
  std::signal(SIGINT, previous_int);
  std::signal(SIGTERM, previous_term);
  return result;
}

// The exit status: 0 completed, 1 diverged (with a one-line reason), 130 interrupted.
int exit_status(const train::TrainResult& result) {
  if (result.status == train::RunStatus::diverged) {
    std::cerr << fmt::format("gradest train: run diverged at step {} ({}); last finite test ELBO {:.3f} at step {}\n",
                             result.diverged_step, result.divergence_reason, result.last.test_elbo, result.last.step);
    return 1;
  }
  if (result.status == train::RunStatus::interrupted) return 130;
  return 0;
}

}  // namespace

int run_train(const std::vector<std::string>& args, const Context& context) {
  const po::options_description options = train_options();
  po::variables_map vm;
  if (!parse(args, options, nullptr, vm)) {
    print_help("train", "--model bernoulli-vae|gaussian-vae [options] --out run.h5", options);
    return 0;
  }
  if (vm.count("print-run-id")) {
    const train::TrainConfig config = parse_train_config(vm);
    (void)parse_probe_options(vm, config);
    std::cout << train::run_id(config) << "\n";
    return 0;
  }
  if (!vm.count("out")) throw UsageError("--out is required: the HDF5 file to write, e.g. --out results/run.h5");
  const std::string out = vm["out"].as<std::string>();
  const train::TrainConfig config = parse_train_config(vm);
  const auto training_probe = parse_probe_options(vm, config);
  train::TrainOutput output(config, out, vm.count("force") > 0, context.command_line);

  const bool quiet = vm.count("quiet") > 0;
  ProgressPrinter printer(config);
  train::TrainHooks hooks;
  if (!quiet) {
    printer.print_banner(output);
    printer.install(hooks);
  }
  if (training_probe) probe::install_probe(*training_probe, hooks, !quiet);
  const train::TrainResult result = run_interruptible(output, hooks);
  if (!quiet) printer.print_end(result, out, output.run_id());
  return exit_status(result);
}

}  // namespace gradest::cli
