// Bernoulli estimators' interface beyond their statistics: reinforce-ma's estimate() uses the
// baseline from before the step and learn() updates it by the moving average; what the estimators
// refuse (a likelihood-only objective for vimco, too many latents for exact, bad options); and the
// gradest toy-bernoulli command: the documented HDF5 schema, the same numbers for the same seed,
// and a one-line error with exit 2 and no file on bad input. The unbiasedness, power and variance
// tests: tests/test_bernoulli_estimators.cpp; the estimator cases both share: tests/bernoulli_cases.hpp.
#include <H5Cpp.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "estimators/estimator.hpp"
#include "estimators/reinforce_ma.hpp"
#include "models/latent_family.hpp"
#include "models/distributions.hpp"
#include "tests/bernoulli_cases.hpp"
#include "tests/bernoulli_problem.hpp"
#include "tests/support.hpp"

namespace gradest {

using namespace testing::bernoulli_cases;

TEST_CASE("reinforce-ma: estimate() uses the baseline from before the step; learn() updates it by the moving average",
          "[bernoulli]") {
  EstimatorOptions options;
  options.set(ReinforceMA::kDecay, 0.9);
  ReinforceMA ma(options);
  auto plain = make({"reinforce", 1});
  testing::BernoulliProblem problem(kLatents, kBatch, testing::seed());
  const StochasticNode node = problem.node(testing::seed());
  NodeGradient a, b;
  a.reset_like(node);
  b.reset_like(node);
  Rng r1(7), r2(7);
  ma.estimate(node, problem, r1, a);
  plain->estimate(node, problem, r2, b);
  CHECK(ma.baseline() == 0.0);  // before any learn(): plain reinforce
  CHECK((a.d_logits - b.d_logits).cwiseAbs().maxCoeff() == 0.0);
  // Mean of f over the estimate's rows, recomputed.
  Matrix z, noise;
  Vector f;
  Rng r3(7);
  sample_node(node, 1, r3, z, noise);
  problem.evaluate(1, z, f);
  const double m1 = f.cast<double>().mean();
  ma.learn(r1);
  CHECK(ma.baseline() == Approx(m1).epsilon(1e-6));  // the first learn() sets c = m
  a.reset_like(node);
  ma.estimate(node, problem, r1, a);
  sample_node(node, 1, r3, z, noise);
  problem.evaluate(1, z, f);
  ma.learn(r1);
  CHECK(ma.baseline() == Approx(0.9 * m1 + 0.1 * f.cast<double>().mean()).epsilon(1e-6));
}

TEST_CASE("Bernoulli estimators refuse what they cannot do", "[bernoulli]") {
  testing::BernoulliProblem problem(kLatents, kBatch, 1, Objective::Terms::likelihood);
  const StochasticNode node = problem.node(1);
  NodeGradient grad;
  grad.reset_like(node);
  Rng rng(1);
  CHECK_THROWS_AS(make({"vimco", 2})->estimate(node, problem, rng, grad), std::invalid_argument);  // not joint
  testing::BernoulliProblem big(17, 1, 1);
  const StochasticNode big_node = big.node(1);
  NodeGradient big_grad;
  big_grad.reset_like(big_node);
  CHECK_THROWS_AS(make({"exact", 1})->estimate(big_node, big, rng, big_grad), std::invalid_argument);
  std::string error;
  EstimatorOptions options;
  options.samples = 1;
  CHECK_FALSE(make_estimator("reinforce-loo", options, LatentKind::bernoulli, &error));
  CHECK(error.find("samples >= 2") != std::string::npos);
  CHECK_FALSE(make_estimator("arm", options, LatentKind::gaussian, &error));
  CHECK(error.find("allowed") != std::string::npos);
}

namespace {
std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / fmt::format("gradest-bernoulli-{}-{}", ::getpid(), name)).string();
}
// Runs gradest with args; returns the exit status and stderr's first line.
std::pair<int, std::string> run_gradest(const std::string& args) {
  const std::string err = temp_path("stderr");
  const int status = std::system(fmt::format("{} {} > /dev/null 2> {}", GRADEST_BINARY, args, err).c_str());
  std::ifstream in(err);
  std::string line;
  std::getline(in, line);
  std::filesystem::remove(err);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, line};
}
}  // namespace

TEST_CASE("gradest toy-bernoulli writes the documented schema", "[bernoulli][cli]") {
  const std::string out = temp_path("toy.h5");
  const auto [status, message] = run_gradest(
      fmt::format("toy-bernoulli --t 0.45,0.499 --repeats 200 --estimators reinforce,disarm --train --steps 20 "
                  "--record-every 10 --probe-draws 10 --out {}",
                  out));
  INFO(message);
  REQUIRE(status == 0);
  H5::H5File file(out, H5F_ACC_RDONLY);
  auto shape = [&](const std::string& path) {
    H5::DataSet d = file.openDataSet(path);
    H5::DataSpace space = d.getSpace();
    std::vector<hsize_t> dims(space.getSimpleExtentNdims());
    space.getSimpleExtentDims(dims.data());
    return dims;
  };
  using Dims = std::vector<hsize_t>;
  CHECK(shape("/toy_bernoulli/t") == Dims{2});
  CHECK(shape("/toy_bernoulli/true_gradient") == Dims{2});
  CHECK(shape("/toy_bernoulli/expected_value") == Dims{2});
  for (const char* name : {"reinforce", "disarm"}) {
    for (const char* d : {"mean", "variance", "exact_mean", "exact_variance"})
      CHECK(shape(fmt::format("/toy_bernoulli/estimators/{}/{}", name, d)) == Dims{2});
    for (const char* d : {"loss", "theta", "variance", "exact_variance"})
      CHECK(shape(fmt::format("/toy_bernoulli/train/{}/{}", name, d)) == Dims{2, 3});
  }
  CHECK(shape("/toy_bernoulli/train/step") == Dims{3});
  H5::Group root = file.openGroup("/");
  for (const char* attr : {"gradest_version", "git_commit", "command_line", "seed", "config", "date_utc"})
    CHECK(root.attrExists(attr));
  file.close();
  std::filesystem::remove(out);
}

TEST_CASE("gradest toy-bernoulli: the same seed writes the same numbers; another seed does not", "[bernoulli][cli]") {
  const std::string args =
      "toy-bernoulli --t 0.45 --repeats 300 --estimators reinforce-ma,arm --train --steps 30 "
      "--record-every 10 --probe-draws 5";
  auto read = [](const std::string& path) {
    H5::H5File file(path, H5F_ACC_RDONLY);
    std::vector<double> values;
    for (const char* d : {"/toy_bernoulli/estimators/arm/mean", "/toy_bernoulli/estimators/reinforce-ma/variance",
                          "/toy_bernoulli/train/arm/theta", "/toy_bernoulli/train/reinforce-ma/variance"}) {
      H5::DataSet set = file.openDataSet(d);
      std::vector<double> v(set.getSpace().getSimpleExtentNpoints());
      set.read(v.data(), H5::PredType::NATIVE_DOUBLE);
      values.insert(values.end(), v.begin(), v.end());
    }
    std::filesystem::remove(path);
    return values;
  };
  const std::string a = temp_path("a.h5"), b = temp_path("b.h5"), c = temp_path("c.h5");
  REQUIRE(run_gradest(fmt::format("{} --seed 3 --out {}", args, a)).first == 0);
  REQUIRE(run_gradest(fmt::format("{} --seed 3 --out {}", args, b)).first == 0);
  REQUIRE(run_gradest(fmt::format("{} --seed 4 --out {}", args, c)).first == 0);
  const auto va = read(a), vb = read(b), vc = read(c);
  CHECK(va == vb);
  CHECK(va != vc);
}

TEST_CASE("gradest toy-bernoulli: bad input gives a one-line error, exit 2, and no file", "[bernoulli][cli]") {
  const std::string out = temp_path("bad.h5");
  const std::pair<std::string, std::string> cases[] = {
      {"--repeats 1", "--repeats"},
      {"--estimators reinforce,nonsense", "allowed"},
      {"--estimators vimco", "K-sample bound"},
      {"--estimators pathwise", "allowed"},
      {"--samples 0", "--samples"},
      {"--temperature 0", "temperature"},
      {"--baseline-decay 1", "decay"},
      {"--train --lr 0", "--lr"},
      {"--train --probe-draws 1", "--probe-draws"},
      {"--t x", "--t"},
      {"--bogus", "bogus"},
  };
  for (const auto& [args, expected] : cases) {
    const auto [status, message] = run_gradest(fmt::format("toy-bernoulli {} --out {}", args, out));
    INFO(args << " -> " << message);
    CHECK(status == 2);
    CHECK(message.find(expected) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(out));
  }
  {  // an existing file is not overwritten without --force
    std::ofstream(out) << "keep";
    const auto [status, message] = run_gradest(fmt::format("toy-bernoulli --repeats 10 --out {}", out));
    INFO(message);
    CHECK(status == 2);
    CHECK(message.find("--force") != std::string::npos);
    std::ifstream in(out);
    std::string content;
    in >> content;
    CHECK(content == "keep");
    std::filesystem::remove(out);
  }
}

}  // namespace gradest
