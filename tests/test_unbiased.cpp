// The unbiasedness regression suite (ctest label `unbiased`).
//
// For every registered estimator (estimator_registry(): a new estimator is covered by registering
// it) and every small VAE it accepts (run/check_unbiased.hpp: a Bernoulli VAE with k = 3
// latents, an MLP encoder and decoder, 3 binary data points; a Gaussian VAE with d = 1 latent), R
// independent per-example gradient estimates of EVERY model parameter (encoder, decoder, prior) are
// compared with the exact gradient (enumeration / Gauss-Hermite quadrature) of the objective the
// estimator targets (the ELBO with analytic KL, or the K-sample bound):
//   z_i = (mean_i - exact_i) / se_i,  H0 rejected when max_i |z_i| > z_{1 - alpha/(2m)}  (Bonferroni),
// family-wise level alpha = 1e-4 per (estimator, model) pair, so the whole suite's false-alarm
// probability is below 1e-4 times the number of pairs (~20): 2e-3. Fixed seeds (testing::seed()).
// - Estimators that claim to be unbiased must pass.
// - POWER: at the same R and level the deliberately biased references must be rejected on every
//   small VAE they accept: reinforce-self-baseline (S = 2: its baseline includes the sample it
//   multiplies), straight-through, gumbel-softmax and straight-through-gumbel at temperature 1
//   (the last three on the Bernoulli and the categorical VAE). A suite that cannot reject them
//   proves nothing.
// Samples: each estimator's minimum (K = 2 for importance-bound estimators with minimum 1, so the
// bound differs from the ELBO). The toys (x2, Gaussian costs, Bernoulli toy) are covered by their
// own tests (tests/test_toys*.cpp); the CLI cases below run `gradest check-unbiased` on a few pairs,
// toys included.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <sys/wait.h>

#include <cstdlib>
#include <set>
#include <string>

#include "estimators/estimator.hpp"
#include "estimators/double_cv.hpp"
#include "estimators/gumbel_softmax.hpp"
#include "run/check_unbiased.hpp"
#include "tests/support.hpp"

namespace gradest {
namespace {

constexpr double kAlpha = 1e-4;         // family-wise level per (estimator, model) pair
constexpr std::int64_t kDraws = 100000;  // R, the same for the unbiased and the biased estimators
constexpr std::int64_t kCliDraws = 20000;  // gradest check-unbiased's default
// The small VAEs, one per latent family.
constexpr probe::CheckModel kVaeModels[] = {probe::CheckModel::bernoulli_vae, probe::CheckModel::gaussian_vae,
                                            probe::CheckModel::categorical_vae};
const std::set<std::string> kBiasedReferences = {"reinforce-self-baseline", "straight-through", "gumbel-softmax",
                                                  "straight-through-gumbel"};

probe::CheckSpec spec_for(const EstimatorInfo& info, probe::CheckModel model) {
  probe::CheckSpec spec;
  spec.model = model;
  spec.estimator = std::string(info.name);
  spec.options.samples = info.target == Target::importance_bound ? std::max(info.min_samples, 2) : info.min_samples;
  spec.options.set(GumbelSoftmax::kTemperature, 1.0);
  spec.options.set(DoubleCV::kScale, 1.0);  // double-cv's Taylor control variate on (its default start is 0)
  spec.latents = model == probe::CheckModel::bernoulli_vae ? 3 : model == probe::CheckModel::categorical_vae ? 2 : 1;
  spec.batch = 3;
  spec.draws = kDraws;
  spec.alpha = kAlpha;
  spec.seed = testing::seed() + stable_hash(info.name) % 1000;
  return spec;
}

std::string describe(const probe::CheckSpec& spec, const probe::CheckResult& result) {
  std::string text = fmt::format("{} on {} (S = {}): largest |z| {:.3f}, threshold {:.3f} ({} coordinates, {:.1f} s)",
                                 spec.estimator, to_string(spec.model), spec.options.samples, result.test.max_abs_z,
                                 result.test.threshold, result.test.coordinates, result.seconds);
  for (const auto& g : result.test.groups)
    if (g.size > 0) text += fmt::format("; {} max|z| {:.2f}", g.name, g.max_abs_z);
  return text;
}

// Every estimator that claims to be unbiased and accepts the model's family, on that model; returns
// how many were checked.
int check_every_unbiased_estimator(probe::CheckModel model) {
  int checked = 0;
  for (const auto& entry : estimator_registry()) {
    const EstimatorInfo& info = *entry.info;
    if (!info.unbiased || !info.accepts(probe::latent_kind(model))) continue;
    const probe::CheckSpec spec = spec_for(info, model);
    const probe::CheckResult result = probe::check_unbiased(spec);
    INFO(describe(spec, result));
    CHECK(result.test.passed);
    ++checked;
  }
  return checked;
}

}  // namespace

// One case per small VAE (kVaeModels), so ctest runs them side by side; a new model needs its case.
static_assert(std::size(kVaeModels) == 3, "add a case below for the new small VAE");
TEST_CASE("unbiased: every estimator that claims to be unbiased passes on the Bernoulli VAE", "[unbiased]") {
  // reinforce, -ma, -loo, -nvil, vimco, arm, disarm, exact, indecater, unordered-set, ...
  CHECK(check_every_unbiased_estimator(probe::CheckModel::bernoulli_vae) >= 10);
}

TEST_CASE("unbiased: every estimator that claims to be unbiased passes on the Gaussian VAE", "[unbiased]") {
  // pathwise, reinforce, -ma, -loo, -nvil, iwae, dreg, ...
  CHECK(check_every_unbiased_estimator(probe::CheckModel::gaussian_vae) >= 7);
}

TEST_CASE("unbiased: every estimator that claims to be unbiased passes on the categorical VAE", "[unbiased]") {
  // reinforce, -ma, -loo, -nvil, vimco, exact, indecater, unordered-set, ...
  CHECK(check_every_unbiased_estimator(probe::CheckModel::categorical_vae) >= 8);
}

TEST_CASE("unbiased: power: the same test at the same R rejects the biased references", "[unbiased]") {
  std::set<std::string> rejected;
  for (const auto& entry : estimator_registry()) {
    const EstimatorInfo& info = *entry.info;
    if (!kBiasedReferences.count(std::string(info.name))) continue;
    CHECK_FALSE(info.unbiased);
    for (auto model : kVaeModels) {
      if (!info.accepts(probe::latent_kind(model))) continue;
      const probe::CheckSpec spec = spec_for(info, model);
      const probe::CheckResult result = probe::check_unbiased(spec);
      INFO(describe(spec, result));
      CHECK_FALSE(result.test.passed);
      if (!result.test.passed) rejected.insert(spec.estimator);
    }
  }
  CHECK(rejected == kBiasedReferences);  // all four are registered and rejected
}

TEST_CASE("unbiased: gradest check-unbiased exits 0 on unbiased and 1 on biased pairs", "[unbiased][cli]") {
  struct Case {
    std::string arguments;
    int status;
  };
  const Case cases[] = {
      {"--model bernoulli-vae --estimator disarm", 0},
      {"--model bernoulli-vae --estimator vimco --samples 2", 0},
      {"--model gaussian-vae --estimator pathwise --latents 2", 0},
      {"--model toy-bernoulli --estimator arm", 0},
      {"--model x2 --estimator reinforce", 0},
      {"--model bernoulli-vae --estimator straight-through", 1},
      {"--model bernoulli-vae --estimator reinforce-self-baseline --samples 2", 1},
  };
  for (const auto& c : cases) {
    const std::string command = fmt::format("{} check-unbiased {} --draws {} --alpha {} --seed {} > /dev/null",
                                            GRADEST_BINARY, c.arguments, kCliDraws, kAlpha, testing::seed());
    INFO(command);
    const int status = std::system(command.c_str());
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == c.status);
  }
}

}  // namespace gradest
