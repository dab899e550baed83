// Training: configuration keys and run ids, learning on synthetic data with a known exact
// log-likelihood, divergence handling, saving and reloading parameters, and the train CLI's
// refusals of bad input.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <sys/wait.h>
#include <filesystem>
#include <fstream>

#include "cli/cli.hpp"
#include "store/h5io.hpp"
#include "run/train.hpp"
#include "tests/support.hpp"

using namespace gradest;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / fmt::format("gradest-test-train-{}-{}", name, ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// The small synthetic problem: a Bernoulli VAE with k = 4 latents over D = 16 pixels, whose mean
// log-likelihood is computed exactly by enumerating the 16 latent configurations.
train::TrainConfig synthetic_config() {
  train::TrainConfig c;
  c.model = LatentKind::bernoulli;
  c.latents = 4;
  c.data = train::DataKind::synthetic;
  c.synthetic.latents = 4;
  c.synthetic.dim = 16;
  c.synthetic.weight_scale = 8.0;
  c.synthetic.train = 5000;
  c.synthetic.test = 1000;
  c.binarize = data::Binarize::none;
  c.estimator = "reinforce-loo";
  c.estimator_options.samples = 4;
  c.steps = 2000;
  c.batch = 100;
  c.lr = 3e-2;
  c.eval_every = 1000;
  c.iwae_samples = 100;
  c.seed = testing::seed();
  c.resolve();
  return c;
}

using Cli = testing::CliResult;
using testing::run_gradest;

}  // namespace

TEST_CASE("config text round-trips and run ids are stable", "[train]") {
  train::TrainConfig a = synthetic_config();
  const train::TrainConfig b = train::parse_config_text(train::config_text(a));
  CHECK(train::config_text(b) == train::config_text(a));
  CHECK(train::run_id(b) == train::run_id(a));
  // Order of setting does not matter; where the data live does not enter the id; what the run does does.
  train::TrainConfig c, d;
  train::set_config_value(c, "lr", "0.01");
  train::set_config_value(c, "batch", "20");
  train::set_config_value(d, "batch", "20");
  train::set_config_value(d, "lr", "0.01");
  c.resolve();
  d.resolve();
  CHECK(train::run_id(c) == train::run_id(d));
  train::set_config_value(d, "data-dir", "/elsewhere");
  CHECK(train::run_id(c) == train::run_id(d));
  train::set_config_value(d, "seed", "2");
  CHECK(train::run_id(c) != train::run_id(d));
  CHECK_THROWS_AS(train::set_config_value(c, "no-such-key", "1"), gradest::Error);
  CHECK_THROWS_AS(train::set_config_value(c, "binarize", "sometimes"), gradest::Error);
}

TEST_CASE("training on synthetic data brings the ELBO near the true model's exact log-likelihood", "[train]") {
  // The true model's mean test log-likelihood L* is exact (enumeration). Stated distance: the
  // trained model's whole-test-set ELBO must lie in [L* - 0.25, L* + 0.2] nats per example after
  // 2000 steps; it starts about 4.9 nats below L*. (An ELBO lies below its own model's
  // log-likelihood, whose test mean lies below L* in expectation; 0.2 allows for the sampling noise
  // of 1000 test points and of the one-sample ELBO.)
  const train::TrainConfig config = synthetic_config();
  const fs::path dir = temp_dir("synthetic");
  const data::DataSplits data = train::load_data(config);
  REQUIRE(data.truth);
  const double truth = data.truth->test_log_likelihood;
  REQUIRE(std::isfinite(truth));
  train::TrainResult result;
  {
    H5::H5File file((dir / "run.h5").string(), H5F_ACC_TRUNC);
    H5::Group group = h5::ensure_group(file, "/runs/" + train::run_id(config));
    result = train::run_training(config, data, group);
  }
  REQUIRE(result.status == train::RunStatus::completed);
  REQUIRE(result.has_final);
  INFO("true test log-likelihood " << truth << ", trained test ELBO " << result.final_eval.elbo);
  CHECK(result.final_eval.elbo > truth - 0.25);
  CHECK(result.final_eval.elbo < truth + 0.2);
  CHECK(result.final_eval.iwae >= result.final_eval.elbo - 0.05);  // K = 100 bound is tighter

  // The trace and the saved parameters.
  H5::H5File file((dir / "run.h5").string(), H5F_ACC_RDONLY);
  H5::Group group = h5::open_run(file, "run.h5", "");
  CHECK(h5::read_string_attribute(group, "status") == "completed");
  const auto steps = h5::read_vector(group.openGroup("trace"), "step");
  CHECK(steps == std::vector<double>{0, 1000, 2000});
  auto vae = train::load_model(group);
  CHECK(vae->latents() == 4);
  CHECK(vae->input_dim() == 16);
  fs::remove_all(dir);
}

TEST_CASE("a learning rate that blows up stops the run as diverged with the last finite values", "[train]") {
  // A Gaussian VAE trained by SGD at lr 1e6: the encoder's log-variances overflow within a step or two.
  train::TrainConfig config = synthetic_config();
  config.model = LatentKind::gaussian;
  config.estimator = "pathwise";
  config.estimator_options.samples = 1;
  config.optimizer = OptimizerKind::sgd;
  config.lr = 1e6;
  config.prior_lr = 1e6;
  config.steps = 200;
  config.eval_every = 1;
  const fs::path dir = temp_dir("diverge");
  train::TrainResult result;
  {
    H5::H5File file((dir / "run.h5").string(), H5F_ACC_TRUNC);
    H5::Group group = h5::ensure_group(file, "/runs/x");
    result = train::run_training(config, group);
    CHECK(h5::read_string_attribute(group, "status") == "diverged");
    CHECK(group.attrExists("diverged_step"));
    CHECK(!h5::read_string_attribute(group, "divergence_reason").empty());
  }
  CHECK(result.status == train::RunStatus::diverged);
  CHECK(result.steps_completed < config.steps);
  CHECK(std::isfinite(result.last.test_elbo));
  fs::remove_all(dir);
}

TEST_CASE("train refuses bad input with one line, status 2 and no file", "[train][cli]") {
  const fs::path dir = temp_dir("cli");
  const std::string out = (dir / "run.h5").string();
  // Each case adds its options to a small valid run; options a case sets are left out of the base.
  auto with_base = [](const std::string& arguments) {
    std::string line = "train " + arguments;
    for (const char* option : {"--model bernoulli-vae", "--data synthetic", "--latents 4", "--steps 10", "--batch 10"})
      if (arguments.find(std::string(option).substr(0, std::string(option).find(' ') + 1)) == std::string::npos)
        line += std::string(" ") + option;
    return line + " --synthetic-latents 4 --synthetic-dim 16 --eval-every 5";
  };
  struct Case {
    std::string arguments, message;
  };
  const std::vector<Case> cases = {
      {"--lr 0", "--lr must be > 0"},
      {"--lr -1", "--lr must be > 0"},
      {"--batch 20000", "larger than the 10000 training examples"},
      {"--latents 0", "--latents must be >= 1"},
      {"--estimator nonsense", "unknown estimator 'nonsense'"},
      {"--estimator pathwise", "does not apply to bernoulli latents"},
      {"--model dirichlet-vae", "allowed: bernoulli-vae, gaussian-vae"},
      {"--binarize maybe", "allowed: dynamic, threshold, none"},
      {"--steps 0", "--steps must be >= 1"},
      {"--no-such-option 3", "no-such-option"},
      {"--estimator vimco --samples 2 --beta 0.5", "K-sample bound"},
      {"--data /nonexistent/file.h5", "does not exist"},
  };
  for (const auto& c : cases) {
    const Cli r = run_gradest(fmt::format("{} --out {}", with_base(c.arguments), out));
    INFO(c.arguments << " -> " << r.output);
    CHECK(r.status == 2);
    CHECK(r.output.find(c.message) != std::string::npos);
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
    CHECK_FALSE(fs::exists(out));
  }
  // An existing output is not overwritten without --force.
  { std::ofstream(out) << "keep me"; }
  const Cli r = run_gradest(fmt::format("{} --out {}", with_base(""), out));
  CHECK(r.status == 2);
  CHECK(r.output.find("--force") != std::string::npos);
  std::ifstream in(out);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  CHECK(content == "keep me");
  fs::remove_all(dir);
}

TEST_CASE("train writes a run that init-from, encode, reconstruct and sample read back", "[train][cli]") {
  const fs::path dir = temp_dir("roundtrip");
  const std::string run = (dir / "run.h5").string();
  const std::string args = "--model bernoulli-vae --data synthetic --latents 4 --synthetic-latents 4 --synthetic-dim 16 "
                           "--synthetic-train 500 --synthetic-test 100 --steps 20 --eval-every 10 --batch 10 "
                           "--estimator reinforce-loo --samples 2";
  Cli r = run_gradest(fmt::format("train {} --out {}", args, run));
  INFO(r.output);
  REQUIRE(r.status == 0);
  r = run_gradest(fmt::format("train {} --init-from {} --out {}", args, run, (dir / "continued.h5").string()));
  REQUIRE(r.status == 0);
  for (const char* command : {"encode", "reconstruct", "sample"}) {
    r = run_gradest(fmt::format("{} --from {} --count 5 --out {}/{}.h5", command, run, dir.string(), command));
    INFO(command << ": " << r.output);
    CHECK(r.status == 0);
  }
  H5::H5File samples((dir / "sample.h5").string(), H5F_ACC_RDONLY);
  CHECK(h5::read_matrix(samples.openGroup("sample"), "x").rows() == 5);
  H5::H5File codes((dir / "encode.h5").string(), H5F_ACC_RDONLY);
  CHECK(h5::read_matrix(codes.openGroup("encode"), "mean").cols() == 4);
  // A model mismatch is refused.
  std::string other = args;
  other.replace(other.find("--latents 4"), 11, "--latents 5");
  r = run_gradest(fmt::format("train {} --init-from {} --out {}", other, run, (dir / "bad.h5").string()));
  CHECK(r.status == 2);
  CHECK(r.output.find("parameters") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("KL weight: warm-up, linear and cyclical annealing", "[train]") {
  train::TrainConfig c;
  c.steps = 1100;
  c.warmup_steps = 100;
  c.beta_start = 0.0;
  c.beta = 1.0;
  CHECK(train::kl_weight(c, 0) == 0.0);
  CHECK(train::kl_weight(c, 99) == 0.0);
  CHECK(train::kl_weight(c, 100) == 1.0);  // annealing none: beta after the warm-up
  c.annealing = train::Annealing::linear;
  c.anneal_steps = 200;
  CHECK(train::kl_weight(c, 100) == Approx(0.0));
  CHECK(train::kl_weight(c, 200) == Approx(0.5));
  CHECK(train::kl_weight(c, 300) == Approx(1.0));
  CHECK(train::kl_weight(c, 1000) == Approx(1.0));
  c.annealing = train::Annealing::cyclical;
  c.anneal_cycles = 2;  // 1000 steps after warm-up: periods of 500, ramps over the first 250
  CHECK(train::kl_weight(c, 100) == Approx(0.0));
  CHECK(train::kl_weight(c, 100 + 125) == Approx(0.5));
  CHECK(train::kl_weight(c, 100 + 250) == Approx(1.0));
  CHECK(train::kl_weight(c, 100 + 400) == Approx(1.0));
  CHECK(train::kl_weight(c, 100 + 500) == Approx(0.0));
  CHECK(train::kl_weight(c, 100 + 750) == Approx(1.0));
}

TEST_CASE("free bits and warm-up change what is trained: the KL grows without its gradient", "[train]") {
  // Reconstruction-only training (the whole run a warm-up, or free bits far above any KL reached)
  // drops the KL's gradient, so the learned posterior's KL ends above that of plain ELBO training
  // from the same start and data. A trainer that ignored the options would give equal KLs.
  train::TrainConfig plain = synthetic_config();
  plain.steps = 1500;
  plain.eval_every = 1500;
  plain.iwae_samples = 1;
  train::TrainConfig warm = plain, free = plain;
  warm.warmup_steps = plain.steps;
  free.free_bits = 50.0;
  const data::DataSplits data = train::load_data(plain);
  const fs::path dir = temp_dir("free-bits");
  auto final_kl = [&](const train::TrainConfig& c, const std::string& name) {
    H5::H5File file((dir / (name + ".h5")).string(), H5F_ACC_TRUNC);
    H5::Group group = h5::ensure_group(file, "/runs/" + name);
    return train::run_training(c, data, group).final_eval.kl;
  };
  const double kl_plain = final_kl(plain, "plain"), kl_warm = final_kl(warm, "warm"), kl_free = final_kl(free, "free");
  INFO("KL plain " << kl_plain << ", warm-up " << kl_warm << ", free bits " << kl_free);
  CHECK(kl_warm > kl_plain + 0.5);
  CHECK(kl_free > kl_plain + 0.5);
  CHECK(kl_free == Approx(kl_warm));  // both drop the whole KL gradient from the same streams
  fs::remove_all(dir);
}

TEST_CASE("train reads a user's HDF5 N x D dataset", "[train][cli]") {
  const fs::path dir = temp_dir("userdata");
  const std::string data_path = (dir / "mine.h5").string();
  {
    H5::H5File file(data_path, H5F_ACC_TRUNC);
    hsize_t dims[2] = {60, 8};
    std::vector<double> values(60 * 8);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = double((i * 7) % 11) / 10.0;
    file.createDataSet("data", H5::PredType::NATIVE_DOUBLE, H5::DataSpace(2, dims))
        .write(values.data(), H5::PredType::NATIVE_DOUBLE);
  }
  const Cli r = run_gradest(fmt::format("train --model gaussian-vae --latents 2 --data {} --binarize none --likelihood gaussian-fixed "
                                    "--batch 10 --steps 20 --eval-every 10 --eval-train-subset 20 --out {}",
                                    data_path, (dir / "run.h5").string()));
  INFO(r.output);
  CHECK(r.status == 0);
  H5::H5File run((dir / "run.h5").string(), H5F_ACC_RDONLY);
  H5::Group group = h5::open_run(run, "run.h5", "");
  CHECK(h5::read_string_attribute(group, "data_path") == data_path);
  CHECK(h5::read_vector(group.openGroup("trace"), "step").size() == 3);
  fs::remove_all(dir);
}
