// Bernoulli estimators (reinforce, reinforce-ma, reinforce-loo, vimco, arm, disarm, exact, and the
// biased gumbel-softmax, straight-through, reinforce-self-baseline) on two problems with exact answers:
// - the 1-d Bernoulli toy of REBAR/RELAX (models/toy_bernoulli.hpp): exact gradient in closed form,
//   each estimator's exact mean and variance from its formula (checked here against closed forms);
// - a k = 4 latent, B = 3 data point problem with a nonlinear f and 23 parameters of its own
//   (tests/bernoulli_problem.hpp): exact gradients with respect to the logits AND f's parameters by
//   enumerating the 2^4 configurations (or the K-tuples for vimco's K-sample bound).
//
// Unbiasedness (tag [unbiased]): R = 20000 independent estimates, per coordinate
//   z_i = (mean_i - exact_i) / (sd_i / sqrt(R)),
// H0 (unbiased) rejected when max_i |z_i| exceeds the two-sided Bonferroni threshold for a
// family-wise level kAlpha = 1e-3 over EVERY z-test of the unbiased cases of this file together
// (kSuiteTests = 415 coordinates: threshold 4.72), so the whole file's false-alarm
// probability is at most 1e-3. (A per-case level of 1e-3 over ~30 cases gave a ~3% false-alarm rate;
// it raised one: arm S=3 on the toy at |z| = 3.59, unbiased on 12 other seeds, max |z| 1.87.)
// Unbiased estimators must pass; at
// the same R and level the biased ones must be rejected (the suite's power). A coordinate with zero
// sample variance must equal its exact value to kExactTolerance. Fixed seeds from testing::seed().
//
// Variance (toy): the sample variance s^2 of R estimates against the exact variance sigma^2:
//   z = (s^2 - sigma^2) / sqrt((m4 - s^4) / R)
// (m4: the sample fourth central moment; the large-R standard error of s^2), Bonferroni over the
// estimators at family-wise kAlpha; companion: DisARM's draws against ARM's exact variance are rejected.
//
// The reinforce-ma baseline's timing, the refusals and the toy-bernoulli command:
// tests/test_bernoulli_interface.cpp; the estimator cases both share: tests/bernoulli_cases.hpp.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "estimators/estimator.hpp"
#include "estimators/gumbel_softmax.hpp"
#include "estimators/reinforce_ma.hpp"
#include "run/toy_bernoulli.hpp"
#include "models/latent_family.hpp"
#include "models/distributions.hpp"
#include "models/enumerate.hpp"
#include "models/toy_bernoulli.hpp"
#include "models/toy_x2.hpp"
#include "tests/bernoulli_cases.hpp"
#include "tests/bernoulli_problem.hpp"
#include "tests/draw_statistics.hpp"
#include "tests/support.hpp"

namespace gradest {
namespace {

using testing::CoordinateStats;
using testing::draw_moments;
using testing::DrawMoments;
using testing::mean_z;
using testing::variance_z;

using namespace testing::bernoulli_cases;

constexpr double kAlpha = 1e-3;           // family-wise level over all the unbiasedness z-tests of this file
constexpr std::int64_t kDraws = 20000;    // R, the same for unbiased and biased estimators
constexpr double kExactTolerance = 1e-5;  // |mean - exact| allowed for a zero-variance coordinate (float32)
constexpr std::size_t kProblemCoordinates = kBatch * kLatents + (kLatents + kLatents * kLatents + kBatch);  // 35
constexpr std::size_t kUnbiasedCases = 9, kImportanceCases = 2,
                      kToyTs = 2;  // sizes of kUnbiased, kImportance; t values
// Every z-test of the unbiased cases: the 4-latent problem's coordinates for each case, one per toy case.
constexpr std::size_t kGaussianCases = 3, kGaussianCoordinates = 4;  // score-function estimators on Gaussian latents
constexpr std::size_t kSuiteTests = (kUnbiasedCases + kImportanceCases) * kProblemCoordinates +
                                    kToyTs * kUnbiasedCases + kGaussianCases * kGaussianCoordinates;


struct ZTest {
  double max_abs_z = 0;
  Index worst = -1;
  double threshold = 0;
  bool rejected() const { return !(max_abs_z <= threshold); }
  std::string describe() const {
    return fmt::format("max |z| = {:.2f} at coordinate {}, Bonferroni threshold {:.2f} (alpha {})", max_abs_z, worst,
                       threshold, kAlpha);
  }
};

ZTest z_test(const CoordinateStats& stats, const VectorD& exact) {
  ZTest test;
  test.threshold = testing::bonferroni_z(kAlpha, kSuiteTests);
  const VectorD variance = stats.variance();
  for (Index i = 0; i < exact.size(); ++i) {
    const double se = std::sqrt(variance(i) / double(stats.n));
    const double diff = std::abs(stats.mean(i) - exact(i));
    const double z =
        se > 0 ? diff / se : (diff <= kExactTolerance * std::max(1.0, std::abs(exact(i))) ? 0.0 : INFINITY);
    if (!(z <= test.max_abs_z)) {
      test.max_abs_z = z;
      test.worst = i;
    }
  }
  return test;
}

// Logit gradient (B x k, column-major) then the problem's parameter gradient.
VectorD flatten(const NodeGradient& grad, const Vector& param_grad) {
  VectorD out(grad.d_logits.size() + param_grad.size());
  for (Index i = 0; i < grad.d_logits.size(); ++i) out(i) = grad.d_logits.data()[i];
  for (Index i = 0; i < param_grad.size(); ++i) out(grad.d_logits.size() + i) = param_grad(i);
  return out;
}

VectorD exact_gradient(testing::BernoulliProblem& problem, const StochasticNode& node, Target target, int K) {
  NodeGradient grad;
  grad.reset_like(node);
  problem.param_grad().setZero();
  if (target == Target::expectation)
    exact_enumerated_expectation(node, problem, &grad, true);
  else
    exact_enumerated_importance_bound(node, problem, K, &grad, true);
  return flatten(grad, problem.param_grad());
}

CoordinateStats draw(Estimator& estimator, testing::BernoulliProblem& problem, const StochasticNode& node,
                     std::int64_t draws, Rng& rng) {
  CoordinateStats stats;
  NodeGradient grad;
  for (std::int64_t r = 0; r < draws; ++r) {
    grad.reset_like(node);
    problem.param_grad().setZero();
    estimator.estimate(node, problem, rng, grad);
    stats.add(flatten(grad, problem.param_grad()));
  }
  return stats;
}

ZTest problem_z_test(const Case& c, double temperature = 1.0) {
  auto estimator = make(c, temperature);
  const Target target = estimator->info().target;
  const std::uint64_t seed = testing::seed();
  testing::BernoulliProblem problem(
      kLatents, kBatch, seed,
      target == Target::importance_bound ? Objective::Terms::joint : Objective::Terms::likelihood);
  const StochasticNode node = problem.node(seed);
  const VectorD exact = exact_gradient(problem, node, target, c.samples);
  Rng rng = Rng::stream(seed, {stable_hash("bernoulli-estimators"), stable_hash(c.name), std::uint64_t(c.samples)});
  if (auto* ma = dynamic_cast<ReinforceMA*>(estimator.get())) {  // give the baseline a value first
    NodeGradient grad;
    for (int w = 0; w < 50; ++w) {
      grad.reset_like(node);
      ma->estimate(node, problem, rng, grad);
      ma->learn(rng);
    }
    REQUIRE(ma->baseline() != 0.0);
  }
  return z_test(draw(*estimator, problem, node, kDraws, rng), exact);
}

ZTest toy_z_test(const Case& c, double t, double theta) {
  auto estimator = make(c);
  ToyBernoulli toy(t);
  Rng rng = Rng::stream(testing::seed(), {stable_hash("bernoulli-toy"), stable_hash(c.name), std::uint64_t(c.samples),
                                          std::uint64_t(t * 1e6)});
  if (auto* ma = dynamic_cast<ReinforceMA*>(estimator.get())) {
    const StochasticNode node = toy_bernoulli_node(theta);
    NodeGradient grad;
    for (int w = 0; w < 50; ++w) {
      grad.reset_like(node);
      ma->estimate(node, toy, rng, grad);
      ma->learn(rng);
    }
  }
  CoordinateStats stats;
  VectorD x(1);
  for (double g : toy_bernoulli_draws(*estimator, toy, theta, kDraws, rng)) {
    x(0) = g;
    stats.add(x);
  }
  return z_test(stats, VectorD::Constant(1, toy.exact_gradient(theta)));
}

const Case kUnbiased[] = {{"reinforce", 1}, {"reinforce-ma", 1}, {"reinforce-loo", 2}, {"reinforce-loo", 4}, {"arm", 1},
                          {"arm", 3},       {"disarm", 1},       {"disarm", 3},        {"exact", 1}};
const Case kBiased[] = {{"gumbel-softmax", 1}, {"straight-through", 1}, {"reinforce-self-baseline", 2}};
const Case kImportance[] = {{"vimco", 2}, {"vimco", 3}};
const Case kGaussian[] = {{"reinforce-ma", 1}, {"reinforce-loo", 2}, {"reinforce-loo", 4}};
static_assert(std::size(kUnbiased) == kUnbiasedCases && std::size(kImportance) == kImportanceCases &&
              std::size(kGaussian) == kGaussianCases);

}  // namespace

TEST_CASE("Bernoulli estimators are unbiased on a 4-latent problem: logits and f's parameters",
          "[unbiased][bernoulli]") {
  for (const Case& c : kUnbiased) {
    const ZTest test = problem_z_test(c);
    INFO(c.name << " S=" << c.samples << ": " << test.describe());
    CHECK_FALSE(test.rejected());
  }
}

TEST_CASE("vimco is unbiased for the K-sample bound's gradient on a 4-latent problem", "[unbiased][bernoulli]") {
  for (const Case& c : kImportance) {
    const ZTest test = problem_z_test(c);
    INFO(c.name << " K=" << c.samples << ": " << test.describe());
    CHECK_FALSE(test.rejected());
  }
}

TEST_CASE("power: the same test at the same R rejects the biased estimators on the 4-latent problem",
          "[unbiased][bernoulli]") {
  for (const Case& c : kBiased) {
    const ZTest test = problem_z_test(c);
    INFO(c.name << " S=" << c.samples << ": " << test.describe());
    CHECK(test.rejected());
  }
  // vimco's estimate is NOT an unbiased gradient of the ELBO: tested against E_q[f] it is rejected.
  auto vimco = make({"vimco", 2});
  const std::uint64_t seed = testing::seed();
  testing::BernoulliProblem problem(kLatents, kBatch, seed, Objective::Terms::joint);
  const StochasticNode node = problem.node(seed);
  const VectorD elbo_gradient = exact_gradient(problem, node, Target::expectation, 1);
  Rng rng = Rng::stream(seed, {stable_hash("vimco-vs-elbo")});
  const ZTest test = z_test(draw(*vimco, problem, node, kDraws, rng), elbo_gradient);
  INFO("vimco against the ELBO gradient: " << test.describe());
  CHECK(test.rejected());
}

// The baselines also apply to Gaussian latents: q = N(mu, exp(log_var)), f(z) = z^2 (models/toy_x2.hpp),
// d/dmu E[z^2] = 2 mu, d/dlog_var E[z^2] = exp(log_var); B = 2 data points, 4 coordinates.
ZTest gaussian_z_test(const Case& c) {
  EstimatorOptions options;
  options.samples = c.samples;
  std::string error;
  auto estimator = make_estimator(c.name, options, LatentKind::gaussian, &error);
  INFO(error);
  REQUIRE(estimator);
  X2Objective objective(2);
  StochasticNode node;
  node.family = &latent_family(LatentKind::gaussian);
  node.mean = (Matrix(2, 1) << 1.0, -0.5).finished();
  node.log_var = (Matrix(2, 1) << 0.0, 0.3).finished();
  VectorD exact(4);
  exact << 2.0, -1.0, 1.0, std::exp(double(Real(0.3)));
  Rng rng = Rng::stream(testing::seed(),
                        {stable_hash("bernoulli-estimators-gaussian"), stable_hash(c.name), std::uint64_t(c.samples)});
  NodeGradient grad;
  for (int w = 0; w < 50; ++w) {  // reinforce-ma: give the baseline a value first
    grad.reset_like(node);
    estimator->estimate(node, objective, rng, grad);
    estimator->learn(rng);
  }
  CoordinateStats stats;
  VectorD x(4);
  for (std::int64_t r = 0; r < kDraws; ++r) {
    grad.reset_like(node);
    estimator->estimate(node, objective, rng, grad);
    x << grad.d_mean(0, 0), grad.d_mean(1, 0), grad.d_log_var(0, 0), grad.d_log_var(1, 0);
    stats.add(x);
  }
  return z_test(stats, exact);
}

TEST_CASE("reinforce-ma and reinforce-loo are unbiased on Gaussian latents; the self baseline is rejected",
          "[unbiased][bernoulli][gaussian]") {
  for (const Case& c : kGaussian) {
    const ZTest test = gaussian_z_test(c);
    INFO(c.name << " S=" << c.samples << ": " << test.describe());
    CHECK_FALSE(test.rejected());
  }
  const ZTest test = gaussian_z_test({"reinforce-self-baseline", 2});
  INFO("reinforce-self-baseline S=2: " << test.describe());
  CHECK(test.rejected());
}

TEST_CASE("Bernoulli toy: unbiased estimators pass, biased ones are rejected at the same R",
          "[unbiased][bernoulli][toy]") {
  for (double t : {0.45, 0.499})
    for (const Case& c : kUnbiased) {
      const ZTest test = toy_z_test(c, t, 0.5);
      INFO(c.name << " S=" << c.samples << " t=" << t << ": " << test.describe());
      CHECK_FALSE(test.rejected());
    }
  // At t = 0.45 the biases are large against the noise; at t = 0.499 the gradient is 4.7e-4.
  for (const Case& c : kBiased) {
    const ZTest test = toy_z_test(c, 0.45, 0.5);
    INFO(c.name << " S=" << c.samples << ": " << test.describe());
    CHECK(test.rejected());
  }
}

TEST_CASE("Bernoulli toy: each estimator's variance matches its exact variance; a wrong exact variance is rejected",
          "[bernoulli][toy]") {
  const double theta = 0.5;
  ToyBernoulli toy(0.45);
  std::vector<Case> cases(std::begin(kUnbiased), std::end(kUnbiased));
  cases.insert(cases.end(), std::begin(kBiased), std::end(kBiased));
  const double threshold = testing::bonferroni_z(kAlpha, cases.size());
  auto variance_z = [&](const std::vector<double>& x, double exact_variance) {
    double mean = 0;
    for (double v : x) mean += v;
    mean /= double(x.size());
    double m2 = 0, m4 = 0;
    for (double v : x) {
      const double d = (v - mean) * (v - mean);
      m2 += d;
      m4 += d * d;
    }
    const double n = double(x.size()), s2 = m2 / (n - 1);
    m4 /= n;
    const double se = std::sqrt(std::max(0.0, m4 - s2 * s2) / n);
    return se > 0 ? (s2 - exact_variance) / se : (std::abs(s2 - exact_variance) <= 1e-12 ? 0.0 : INFINITY);
  };
  std::vector<double> disarm_draws;
  for (const Case& c : cases) {
    auto estimator = make(c);
    Rng rng = Rng::stream(testing::seed(),
                          {stable_hash("bernoulli-toy-variance"), stable_hash(c.name), std::uint64_t(c.samples)});
    const std::vector<double> x = toy_bernoulli_draws(*estimator, toy, theta, kDraws, rng);
    const auto exact = toy_bernoulli_exact_moments(*estimator, toy, theta);
    REQUIRE(exact);
    const double z = variance_z(x, exact->variance);
    INFO(fmt::format("{} S={}: exact variance {:.6e}, z = {:.2f}, threshold {:.2f}", c.name, c.samples, exact->variance,
                     z, threshold));
    CHECK(std::abs(z) <= threshold);
    if (std::string(c.name) == "disarm" && c.samples == 1) disarm_draws = x;
  }
  // Companion: DisARM's draws against ARM's exact variance (50% larger at this theta) are rejected.
  const double arm_variance = toy_bernoulli::arm(toy, theta, 1).variance;
  const double z = variance_z(disarm_draws, arm_variance);
  INFO("disarm draws vs arm's exact variance " << arm_variance << ": z = " << z);
  CHECK(std::abs(z) > threshold);
}

TEST_CASE("Bernoulli toy: exact moments from the formulas", "[bernoulli][toy]") {
  namespace tb = toy_bernoulli;
  for (double t : {0.45, 0.499, 0.1})
    for (double theta : {-2.0, 0.0, 0.5, 3.0}) {
      ToyBernoulli toy(t);
      const double g = toy.exact_gradient(theta), p = sigmoid(theta);
      INFO("t = " << t << ", theta = " << theta);
      CHECK(g == Approx(p * (1 - p) * (1 - 2 * t)).epsilon(1e-12));
      // Every unbiased form's mean is the exact gradient (enumeration and quadrature alike).
      CHECK(tb::score_function(toy, theta, 1, 0.0).mean == Approx(g).epsilon(1e-12));
      CHECK(tb::score_function(toy, theta, 3, 0.7).mean == Approx(g).epsilon(1e-12));
      CHECK(tb::leave_one_out(toy, theta, 5).mean == Approx(g).epsilon(1e-12));
      CHECK(tb::arm(toy, theta, 1).mean == Approx(g).epsilon(1e-12));
      CHECK(tb::disarm(toy, theta, 1).mean == Approx(g).epsilon(1e-12));
      CHECK(tb::self_baseline(toy, theta, 2).mean == Approx(g / 2).epsilon(1e-12));
      // ARM's second moment in closed form: (1 - 2t)^2 * 2 int_0^{min(p,1-p)} (u - 1/2)^2 du.
      const double m = std::min(p, 1 - p),
                   arm_second = (1 - 2 * t) * (1 - 2 * t) * 2 * ((m - 0.5) * (m - 0.5) * (m - 0.5) + 0.125) / 3;
      CHECK(tb::arm(toy, theta, 1).variance == Approx(arm_second - g * g).epsilon(1e-10));
      // DisARM never has more variance than ARM (Dong et al. 2020).
      CHECK(tb::disarm(toy, theta, 1).variance <= tb::arm(toy, theta, 1).variance * (1 + 1e-12));
      // Straight-through's mean: 2 (p - t) p (1 - p).
      CHECK(tb::straight_through(toy, theta, 1).mean == Approx(2 * (p - t) * p * (1 - p)).epsilon(1e-12));
    }
  // The relaxation's bias shrinks with the temperature.
  ToyBernoulli toy(0.45);
  const double g = toy.exact_gradient(0.5);
  CHECK(std::abs(toy_bernoulli::gumbel_softmax(toy, 0.5, 1, 0.1).mean - g) <
        std::abs(toy_bernoulli::gumbel_softmax(toy, 0.5, 1, 1.0).mean - g));
}

}  // namespace gradest
