// The x^2 example and the Gaussian test costs (Mohamed et al. 2020): quadrature against closed
// forms, unbiasedness and variance of every estimator against the exact values, and the power of
// each check against deliberately wrong estimators.
#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "run/gaussian_draws.hpp"
#include "models/quadrature.hpp"
#include "models/toy_gaussian.hpp"
#include "models/toy_x2.hpp"
#include "tests/support.hpp"

using namespace gradest;
using gradest::testing::bonferroni_z;
using gradest::testing::tolerance::kQuadrature;

namespace {

double relative_error(double value, double reference) {
  return std::abs(value - reference) / std::max(std::abs(reference), 1e-300);
}

// ---- the statistics shared by the unbiasedness and variance checks ---------------------------
//
// R independent estimates g_1..g_R of one gradient coordinate, with exact gradient G, exact
// variance V and exact fourth central moment mu4 (all by quadrature):
// - mean:      z = (mean - G) / (s / sqrt(R)), s the sample standard deviation; N(0, 1) under H0 by
//              the central limit theorem.
// - variance:  z = (s^2 - V) / sqrt((mu4 - V^2) / R); the sample variance s^2 is asymptotically
//              normal with mean V and variance (mu4 - V^2)/R (delta method; exact variance
//              mu4/R - V^2 (R-3)/(R(R-1)), whose difference is O(V^2/R^2)). Needs a finite fourth
//              moment, which every cell below has; R = 50000 keeps the skewness of s^2 small.
// Each family uses a two-sided Bonferroni threshold at family-wise level kAlpha.
constexpr double kAlpha = 1e-3;
constexpr std::int64_t kDraws = 50000;

struct Statistic {
  double z_mean = 0, z_variance = 0;
};

Statistic statistic(const std::vector<double>& draws, double gradient, double variance, double fourth_moment) {
  const SampleMoments m = sample_moments(draws);
  const double R = static_cast<double>(draws.size());
  return {(m.mean - gradient) / std::sqrt(m.variance / R),
          (m.variance - variance) / std::sqrt((fourth_moment - variance * variance) / R)};
}

struct ToyCell {
  GaussianTestCost cost;
  double mu, sigma;
};

// Costs and k values: each cost at a small, a medium and a large k, at sigma 1 and sigma != 1
// (the sigma != 1 cells check the chain rule d/dsigma = d/dlog_var * 2/sigma). exp with k < 0
// only where the eighth moment of every estimator is finite (k > -1/(16 sigma^2)).
const std::vector<ToyCell> kToyCells = {
    {{GaussianCost::square, -2.0}, 1.0, 1.0}, {{GaussianCost::square, 1.0}, 1.0, 1.0},
    {{GaussianCost::square, 2.5}, 0.5, 1.3},  {{GaussianCost::exp, -0.05}, 1.0, 1.0},
    {{GaussianCost::exp, 1.0}, 1.0, 1.0},     {{GaussianCost::exp, 2.0}, 0.3, 0.7},
    {{GaussianCost::cos, 0.5}, 1.0, 1.0},     {{GaussianCost::cos, 2.0}, 1.0, 1.0},
    {{GaussianCost::cos, 4.0}, -0.4, 0.6},
};

std::string describe(const ToyCell& c, GaussianToyEstimator e, GaussianParameter p) {
  return std::string(to_string(c.cost.cost)) + " k=" + std::to_string(c.cost.k) + " mu=" + std::to_string(c.mu) +
         " sigma=" + std::to_string(c.sigma) + " " + std::string(to_string(e)) + " d/d" + std::string(to_string(p));
}

std::uint64_t cell_id(std::size_t cell, GaussianToyEstimator e) {
  return 100 * cell + static_cast<std::uint64_t>(e);
}

ObjectiveFactory x2_objective() {
  return [](Index batch) { return std::make_unique<X2Objective>(batch); };
}

// Estimators that must FAIL the checks.
// Score function with its sign flipped: biased (mean -G).
NodeGradientFn flipped_score(ObjectiveFactory objective) {
  auto inner = registered_estimator("reinforce", std::move(objective));
  return [inner](const StochasticNode& node, int samples, Rng& rng, NodeGradient& grad) {
    NodeGradient part;
    part.reset_like(node);
    inner(node, samples, rng, part);
    grad.d_mean -= part.d_mean;
    grad.d_log_var -= part.d_log_var;
  };
}
// Score function whose baseline is half the cost of the very sample it multiplies: biased.
NodeGradientFn self_baseline_score(ObjectiveFactory objective) {
  auto inner = registered_estimator("reinforce", std::move(objective));
  return [inner](const StochasticNode& node, int samples, Rng& rng, NodeGradient& grad) {
    NodeGradient part;
    part.reset_like(node);
    inner(node, samples, rng, part);
    grad.d_mean += Real(0.5) * part.d_mean;
    grad.d_log_var += Real(0.5) * part.d_log_var;
  };
}

}  // namespace

// ---- quadrature ---------------------------------------------------------------------------------

TEST_CASE("quadrature reproduces the square cost's closed forms to 1e-8", "[toys][quadrature]") {
  for (double sigma : {0.5, 1.0, 2.0})
    for (double mu : {-1.0, 0.0, 1.5})
      for (double k : {-3.0, 0.0, 1.0, 3.0}) {
        const GaussianTestCost f{GaussianCost::square, k};
        const GaussianToyExact exact = gaussian_toy_exact(f, mu, sigma);
        const double d = mu - k, s2 = sigma * sigma;
        INFO("mu " << mu << " sigma " << sigma << " k " << k);
        CHECK(exact.converged);
        CHECK(relative_error(exact.expected_cost, d * d + s2) < kQuadrature);
        CHECK(std::abs(exact.gradient[0] - 2 * d) < kQuadrature * std::max(1.0, std::abs(2 * d)));
        CHECK(relative_error(exact.gradient[1], 2 * sigma) < kQuadrature);
        CHECK(relative_error(exact.variance_of(GaussianToyEstimator::score_function, GaussianParameter::mu),
                             15 * s2 + 14 * d * d + d * d * d * d / s2) < kQuadrature);
        CHECK(relative_error(exact.variance_of(GaussianToyEstimator::pathwise, GaussianParameter::mu), 4 * s2) <
              kQuadrature);
        CHECK(relative_error(exact.variance_of(GaussianToyEstimator::pathwise, GaussianParameter::sigma),
                             8 * s2 + 4 * d * d) < kQuadrature);
        // Pathwise fourth central moments: 2 sigma eps has 48 sigma^4; 2 (d + sigma eps) eps - 2 sigma
        // = a eps + b (eps^2 - 1), a = 2d, b = 2 sigma, has 3 a^4 + 6 a^2 b^2 E[eps^2 (eps^2-1)^2]
        // + b^4 E[(eps^2-1)^4] = 3 a^4 + 60 a^2 b^2 + 60 b^4.
        CHECK(relative_error(exact.fourth_moment_of(GaussianToyEstimator::pathwise, GaussianParameter::mu),
                             48 * s2 * s2) < kQuadrature);
        CHECK(relative_error(exact.fourth_moment_of(GaussianToyEstimator::pathwise, GaussianParameter::sigma),
                             16 * (3 * d * d * d * d + 60 * d * d * s2 + 60 * s2 * s2)) < kQuadrature);
        // Measure-valued d/dmu, c = 1/(sigma sqrt(2 pi)), from the Rayleigh moments E W = sqrt(pi/2),
        // E W^2 = 2, E W^3 = 3 sqrt(pi/2), E W^4 = 8: coupled c ((d + sigma W)^2 - (d - sigma W)^2)
        // = 4 c d sigma W, variance 16 c^2 d^2 sigma^2 (2 - pi/2); uncoupled c^2 (Var (d + sigma W)^2
        // + Var (d - sigma W)^2).
        const double c2 = 1 / (s2 * 2 * std::numbers::pi), m1 = std::sqrt(std::numbers::pi / 2), m3 = 3 * m1;
        auto var_square = [&](double a) {  // Var (a + sigma W)^2
          const double second = a * a + 2 * a * sigma * m1 + 2 * s2;
          const double fourth = a * a * a * a + 4 * a * a * a * sigma * m1 + 12 * a * a * s2 + 4 * a * s2 * sigma * m3 + 8 * s2 * s2;
          return fourth - second * second;
        };
        const double coupled = 16 * c2 * d * d * s2 * (2 - std::numbers::pi / 2);
        CHECK(std::abs(exact.variance_of(GaussianToyEstimator::measure_valued, GaussianParameter::mu) - coupled) <
              kQuadrature * std::max(1.0, coupled));
        CHECK(relative_error(exact.variance_of(GaussianToyEstimator::measure_valued_uncoupled, GaussianParameter::mu),
                             c2 * (var_square(d) + var_square(-d))) < kQuadrature);
      }
}

TEST_CASE("quadrature reproduces the exp and cos costs' closed-form expectations and gradients", "[toys][quadrature]") {
  for (double sigma : {0.5, 1.0, 1.5})
    for (double mu : {-0.7, 0.4, 1.0})
      for (double k : {0.3, 1.0, 2.5}) {
        INFO("mu " << mu << " sigma " << sigma << " k " << k);
        const double s2 = sigma * sigma;
        {
          const GaussianToyExact exact = gaussian_toy_exact({GaussianCost::cos, k}, mu, sigma);
          const double damp = std::exp(-0.5 * k * k * s2);
          // Absolute tolerance on the scale of the integrand (|cos| <= 1, |d/dmu| <= k, |d/dsigma| <= k^2 sigma).
          CHECK(std::abs(exact.expected_cost - std::cos(k * mu) * damp) < kQuadrature);
          CHECK(std::abs(exact.gradient[0] + k * std::sin(k * mu) * damp) < kQuadrature * k);
          CHECK(std::abs(exact.gradient[1] + k * k * sigma * std::cos(k * mu) * damp) < kQuadrature * k * k * sigma);
        }
        {
          const GaussianToyExact exact = gaussian_toy_exact({GaussianCost::exp, k}, mu, sigma);
          const double a = 1 + 2 * k * s2;
          const double value = std::exp(-k * mu * mu / a) / std::sqrt(a);
          CHECK(relative_error(exact.expected_cost, value) < kQuadrature);
          CHECK(relative_error(exact.gradient[0], -2 * k * mu / a * value) < kQuadrature);
          CHECK(relative_error(exact.gradient[1], value * (-2 * k * sigma / a + 4 * k * k * mu * mu * sigma / (a * a))) <
                kQuadrature);
        }
      }
}

TEST_CASE("the x^2 closed forms agree with quadrature", "[toys][quadrature]") {
  for (double phi : {-1.0, 0.0, 0.5, 2.0, 5.0}) {
    const GaussianToyExact exact = gaussian_toy_exact({GaussianCost::square, 0.0}, phi, 1.0);
    CHECK(relative_error(exact.gradient[0], x2::true_gradient(phi)) < kQuadrature + (phi == 0 ? 1 : 0) * 1e-300);
    CHECK(relative_error(exact.variance_of(GaussianToyEstimator::score_function, GaussianParameter::mu),
                         x2::score_function_variance(phi)) < kQuadrature);
    CHECK(relative_error(exact.variance_of(GaussianToyEstimator::pathwise, GaussianParameter::mu),
                         x2::pathwise_variance(phi)) < kQuadrature);
  }
  CHECK(x2::score_function_variance(2.0) == 87.0);
}

TEST_CASE("the closed-form comparison catches wrong estimators", "[toys][quadrature]") {
  // The same comparison as above, applied to the variances of wrong single-sample estimators: a
  // score for mu missing its 1/sigma (sigma = 2), and pathwise for sigma without eps.
  const double mu = 1.5, sigma = 2.0, k = -1.0, d = mu - k, s2 = sigma * sigma;
  const GaussianTestCost f{GaussianCost::square, k};
  const double gradient_mu = 2 * d, gradient_sigma = 2 * sigma;
  const double wrong_score = gaussian_expectation(
      [&](double x) {
        const double g = f.value(x) * (x - mu) / sigma - gradient_mu;
        return g * g;
      },
      mu, sigma).value;
  CHECK(relative_error(wrong_score, 15 * s2 + 14 * d * d + d * d * d * d / s2) > 1e3 * kQuadrature);
  const double wrong_pathwise = gaussian_expectation(
      [&](double x) {
        const double g = f.derivative(x) - gradient_sigma;
        return g * g;
      },
      mu, sigma).value;
  CHECK(relative_error(wrong_pathwise, 8 * s2 + 4 * d * d) > 1e3 * kQuadrature);
}

TEST_CASE("Gauss-Hermite rules integrate polynomials exactly", "[toys][quadrature]") {
  for (int n : {1, 2, 5, 20, 60}) {
    const GaussHermiteRule rule = gauss_hermite_rule(n);
    double double_factorial = 1;  // (2j - 1)!! = E[t^{2j}]
    for (int j = 0; 2 * j <= 2 * n - 1; ++j) {
      if (j > 0) double_factorial *= 2 * j - 1;
      double even = 0, odd = 0;
      for (int i = 0; i < n; ++i) {
        even += rule.weights[i] * std::pow(rule.nodes[i], 2 * j);
        odd += rule.weights[i] * std::pow(rule.nodes[i], 2 * j + 1);
      }
      INFO("n " << n << " degree " << 2 * j);
      if (2 * j > 2 * n - 1) break;
      CHECK(relative_error(even, double_factorial) < 1e-10);
      if (2 * j + 1 <= 2 * n - 1) CHECK(std::abs(odd) < 1e-10 * double_factorial * 10);
    }
    // and agree with the adaptive routine on a non-polynomial integrand
    if (n == 60) {
      double value = 0;
      for (int i = 0; i < n; ++i) value += rule.weights[i] * std::cos(1.3 * (0.2 + 0.9 * rule.nodes[i]));
      CHECK(std::abs(value - gaussian_expectation([](double x) { return std::cos(1.3 * x); }, 0.2, 0.9).value) < 1e-12);
    }
  }
}

TEST_CASE("gaussian_toy_exact refuses infinite variances and bad sigma", "[toys][quadrature]") {
  CHECK_THROWS_AS(gaussian_toy_exact({GaussianCost::exp, -0.25}, 0.0, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(gaussian_toy_exact({GaussianCost::square, 1.0}, 0.0, 0.0), std::invalid_argument);
  CHECK_NOTHROW(gaussian_toy_exact({GaussianCost::exp, -0.2}, 0.0, 1.0));
}

// ---- unbiasedness and variance through the Estimator interface ---------------------------------

TEST_CASE("x^2: score function and pathwise are unbiased with their exact variances", "[toys][unbiased]") {
  const std::vector<double> phis = {-1.0, 0.5, 2.0};
  const std::vector<std::pair<std::string, GaussianToyEstimator>> estimators = {
      {"reinforce", GaussianToyEstimator::score_function}, {"pathwise", GaussianToyEstimator::pathwise}};
  const double threshold = bonferroni_z(kAlpha, phis.size() * estimators.size() * 2);  // mean and variance
  for (std::size_t i = 0; i < phis.size(); ++i)
    for (const auto& [name, kind] : estimators) {
      const GaussianToyExact exact = gaussian_toy_exact({GaussianCost::square, 0.0}, phis[i], 1.0);
      Rng rng = Rng::stream(gradest::testing::seed(), {stable_hash("x2-test"), i, stable_hash(name)});
      const auto draws = draw_gaussian_estimates(phis[i], 1.0, 1, kDraws, registered_estimator(name, x2_objective()), rng);
      const Statistic z = statistic(draws.d_mu, x2::true_gradient(phis[i]),
                                    exact.variance_of(kind, GaussianParameter::mu),
                                    exact.fourth_moment_of(kind, GaussianParameter::mu));
      INFO(name << " phi " << phis[i] << ": z(mean) " << z.z_mean << ", z(variance) " << z.z_variance
                << ", threshold " << threshold);
      CHECK(std::abs(z.z_mean) < threshold);
      CHECK(std::abs(z.z_variance) < threshold);
    }
}

TEST_CASE("x^2: N-sample estimates have variance V/N", "[toys][unbiased]") {
  // 20000 estimates of N = 100 samples each (blocks of 64 repeats, 64 samples per call): the
  // chunked path of draw_gaussian_estimates, whose chunk estimates are combined with weights
  // S_c / N. The variance test needs the fourth central moment of an N-sample mean of iid terms
  // with variance V and fourth central moment mu4: (mu4 + 3 (N - 1) V^2) / N^3.
  const double phi = 2.0;
  const std::int64_t N = 100, R = 20000;
  const GaussianToyExact exact = gaussian_toy_exact({GaussianCost::square, 0.0}, phi, 1.0);
  const double threshold = bonferroni_z(kAlpha, 4);
  for (const auto& [name, kind] : std::vector<std::pair<std::string, GaussianToyEstimator>>{
           {"reinforce", GaussianToyEstimator::score_function}, {"pathwise", GaussianToyEstimator::pathwise}}) {
    Rng rng = Rng::stream(gradest::testing::seed(), {stable_hash("x2-test-N"), stable_hash(name)});
    const auto draws = draw_gaussian_estimates(phi, 1.0, N, R, registered_estimator(name, x2_objective()), rng);
    const double V1 = exact.variance_of(kind, GaussianParameter::mu), M1 = exact.fourth_moment_of(kind, GaussianParameter::mu);
    const double n = static_cast<double>(N);
    const Statistic z = statistic(draws.d_mu, 2 * phi, V1 / n, (M1 + 3 * (n - 1) * V1 * V1) / (n * n * n));
    INFO(name << ": z(mean) " << z.z_mean << ", z(variance) " << z.z_variance << ", threshold " << threshold);
    CHECK(std::abs(z.z_mean) < threshold);
    CHECK(std::abs(z.z_variance) < threshold);
  }
}

TEST_CASE("Gaussian test costs: every estimator is unbiased with its exact variance", "[toys][unbiased]") {
  const double threshold =
      bonferroni_z(kAlpha, kToyCells.size() * kGaussianToyEstimators.size() * kGaussianParameters.size() * 2);
  for (std::size_t c = 0; c < kToyCells.size(); ++c) {
    const ToyCell& cell = kToyCells[c];
    const GaussianToyExact exact = gaussian_toy_exact(cell.cost, cell.mu, cell.sigma);
    REQUIRE(exact.converged);
    for (auto e : kGaussianToyEstimators) {
      Rng rng = Rng::stream(gradest::testing::seed(), {stable_hash("toy-test"), cell_id(c, e)});
      const auto draws = draw_gaussian_estimates(cell.mu, cell.sigma, 1, kDraws, gaussian_toy_estimator(e, cell.cost, exact), rng);
      for (auto p : kGaussianParameters) {
        const auto& x = p == GaussianParameter::mu ? draws.d_mu : draws.d_sigma;
        const double gradient = exact.gradient_of(p), scale = std::max(1.0, std::abs(gradient));
        if (exact.variance_of(e, p) <= 1e-20 * scale * scale) {
          // A deterministic estimate (the coupled measure-valued d/dmu of a cost symmetric about mu):
          // no z-test is defined; every draw must be the gradient up to float32 rounding.
          double worst = 0;
          for (double v : x) worst = std::max(worst, std::abs(v - gradient));
          INFO(describe(cell, e, p) << ": exact variance 0; largest |draw - gradient| " << worst);
          CHECK(worst <= 1e-5 * scale);
          continue;
        }
        const Statistic z = statistic(x, gradient, exact.variance_of(e, p), exact.fourth_moment_of(e, p));
        INFO(describe(cell, e, p) << ": z(mean) " << z.z_mean << ", z(variance) " << z.z_variance << ", threshold "
                                  << threshold);
        CHECK(std::abs(z.z_mean) < threshold);
        CHECK(std::abs(z.z_variance) < threshold);
      }
    }
  }
}

TEST_CASE("the constant baselines reduce the score function's variance as the theory says", "[toys][quadrature]") {
  // Var((f - c) s) = Var(f s) - 2c E[f s^2] + c^2 E[s^2] is minimised at c*; the mean baseline
  // cannot beat it. Pure quadrature, no sampling.
  for (const ToyCell& cell : kToyCells) {
    const GaussianToyExact exact = gaussian_toy_exact(cell.cost, cell.mu, cell.sigma);
    for (auto p : kGaussianParameters) {
      INFO(describe(cell, GaussianToyEstimator::score_function_optimal_baseline, p));
      const double optimal = exact.variance_of(GaussianToyEstimator::score_function_optimal_baseline, p);
      CHECK(optimal <= exact.variance_of(GaussianToyEstimator::score_function_mean_baseline, p) * (1 + 1e-12));
      CHECK(optimal <= exact.variance_of(GaussianToyEstimator::score_function, p) * (1 + 1e-12));
    }
  }
}

// ---- the same checks must reject wrong estimators ------------------------------------------------

TEST_CASE("the unbiasedness check rejects a flipped-sign and a self-baselined score function", "[toys][unbiased]") {
  // Same R, same threshold as the x^2 family above; each wrong estimator must exceed it.
  const double threshold = bonferroni_z(kAlpha, 3 * 2 * 2);
  const double phi = 2.0;
  const GaussianToyExact exact = gaussian_toy_exact({GaussianCost::square, 0.0}, phi, 1.0);
  const double V = exact.variance_of(GaussianToyEstimator::score_function, GaussianParameter::mu);
  const double M = exact.fourth_moment_of(GaussianToyEstimator::score_function, GaussianParameter::mu);
  {
    Rng rng = Rng::stream(gradest::testing::seed(), {stable_hash("x2-test-wrong"), 1});
    const auto draws = draw_gaussian_estimates(phi, 1.0, 1, kDraws, flipped_score(x2_objective()), rng);
    const Statistic z = statistic(draws.d_mu, 2 * phi, V, M);
    INFO("flipped sign: z(mean) " << z.z_mean);
    CHECK(std::abs(z.z_mean) > threshold);
  }
  {
    Rng rng = Rng::stream(gradest::testing::seed(), {stable_hash("x2-test-wrong"), 2});
    const auto draws = draw_gaussian_estimates(phi, 1.0, 1, kDraws, self_baseline_score(x2_objective()), rng);
    const Statistic z = statistic(draws.d_mu, 2 * phi, V, M);
    INFO("self baseline: z(mean) " << z.z_mean);
    CHECK(std::abs(z.z_mean) > threshold);
  }
  // On a toy cost, for sigma too (a sign flip of a gradient near 0 would pass: use cos k = 2,
  // mu = 1, where both gradients are far from 0).
  {
    const ToyCell& cell = kToyCells[7];
    const GaussianToyExact toy = gaussian_toy_exact(cell.cost, cell.mu, cell.sigma);
    ObjectiveFactory objective = [cost = cell.cost](Index b) { return std::make_unique<GaussianCostObjective>(cost, b); };
    Rng rng = Rng::stream(gradest::testing::seed(), {stable_hash("toy-test-wrong"), 3});
    const auto draws = draw_gaussian_estimates(cell.mu, cell.sigma, 1, kDraws, flipped_score(objective), rng);
    for (auto p : kGaussianParameters) {
      const Statistic z = statistic(p == GaussianParameter::mu ? draws.d_mu : draws.d_sigma, toy.gradient_of(p),
                                    toy.variance_of(GaussianToyEstimator::score_function, p),
                                    toy.fourth_moment_of(GaussianToyEstimator::score_function, p));
      INFO("flipped sign on cos, d/d" << to_string(p) << ": z(mean) " << z.z_mean);
      CHECK(std::abs(z.z_mean) > threshold);
    }
  }
}

TEST_CASE("the variance check rejects estimators with the right mean and the wrong variance", "[toys][unbiased]") {
  const double threshold = bonferroni_z(kAlpha, kToyCells.size() * kGaussianToyEstimators.size() * kGaussianParameters.size() * 2);
  // 1. Pathwise averaging 2 samples while claiming 1: variance halved, mean right.
  {
    const ToyCell& cell = kToyCells[1];  // square k = 1
    const GaussianToyExact exact = gaussian_toy_exact(cell.cost, cell.mu, cell.sigma);
    Rng rng = Rng::stream(gradest::testing::seed(), {stable_hash("toy-test-wrong"), 4});
    const auto draws = draw_gaussian_estimates(cell.mu, cell.sigma, 2, kDraws,
                                               gaussian_toy_estimator(GaussianToyEstimator::pathwise, cell.cost, exact), rng);
    for (auto p : kGaussianParameters) {
      const Statistic z = statistic(p == GaussianParameter::mu ? draws.d_mu : draws.d_sigma, exact.gradient_of(p),
                                    exact.variance_of(GaussianToyEstimator::pathwise, p),
                                    exact.fourth_moment_of(GaussianToyEstimator::pathwise, p));
      INFO("pathwise with 2 samples, d/d" << to_string(p) << ": z(mean) " << z.z_mean << " z(variance) " << z.z_variance);
      CHECK(std::abs(z.z_mean) < threshold);
      CHECK(std::abs(z.z_variance) > threshold);
    }
  }
  // 2. A constant baseline off by 1 from the optimal one: unbiased, variance larger by E[s^2].
  {
    const ToyCell& cell = kToyCells[4];  // exp k = 1
    const GaussianToyExact exact = gaussian_toy_exact(cell.cost, cell.mu, cell.sigma);
    ObjectiveFactory objective = [cost = cell.cost](Index b) { return std::make_unique<GaussianCostObjective>(cost, b); };
    const NodeGradientFn shifted = constant_baseline_score_function(exact.optimal_baseline[0] + 1.0,
                                                                    exact.optimal_baseline[1] + 1.0, objective);
    Rng rng = Rng::stream(gradest::testing::seed(), {stable_hash("toy-test-wrong"), 5});
    const auto draws = draw_gaussian_estimates(cell.mu, cell.sigma, 1, kDraws, shifted, rng);
    for (auto p : kGaussianParameters) {
      const auto e = GaussianToyEstimator::score_function_optimal_baseline;
      const Statistic z = statistic(p == GaussianParameter::mu ? draws.d_mu : draws.d_sigma, exact.gradient_of(p),
                                    exact.variance_of(e, p), exact.fourth_moment_of(e, p));
      INFO("baseline c* + 1, d/d" << to_string(p) << ": z(mean) " << z.z_mean << " z(variance) " << z.z_variance);
      CHECK(std::abs(z.z_mean) < threshold);
      CHECK(std::abs(z.z_variance) > threshold);
    }
  }
}

TEST_CASE("draws are reproducible and independent of how repeats are split", "[toys]") {
  Rng a = Rng::stream(gradest::testing::seed(), {7}), b = Rng::stream(gradest::testing::seed(), {7});
  auto fn = registered_estimator("pathwise", x2_objective());
  const auto first = draw_gaussian_estimates(1.0, 1.0, 10, 100, fn, a);
  const auto second = draw_gaussian_estimates(1.0, 1.0, 10, 100, fn, b);
  CHECK(first.d_mu == second.d_mu);
  CHECK(first.d_sigma == second.d_sigma);
}
