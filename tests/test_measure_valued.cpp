// measure-valued and measure-valued-uncoupled (estimators/measure_valued.hpp) on the square cost of
// Mohamed et al. (2020), f(x) = (x - k)^2 under q = N(mu, sigma^2), d = mu - k, where the estimates of
// d/dmu have closed-form moments from those of W ~ Rayleigh(1) (E W = sqrt(pi/2), E W^2 = 2,
// E W^3 = 3 sqrt(pi/2), E W^4 = 8), c = 1/(sigma sqrt(2 pi)):
//   coupled:    c ((d + sigma W)^2 - (d - sigma W)^2) = 4 c d sigma W:  mean 2d, variance 16 c^2 d^2 sigma^2 (2 - pi/2)
//   uncoupled:  c ((d + sigma W1)^2 - (d - sigma W2)^2):  variance c^2 (Var (d + sigma W)^2 + Var (d - sigma W)^2)
// and d/dlog sigma^2 of E f = sigma^2. R = 100,000 estimates, fixed seed; per case z-tests of the two
// means (against 2d and sigma^2) and of the d/dmu variance (z = (s^2 - exact) / sqrt((m4 - s^4)/R)),
// Bonferroni at family-wise 1e-3 over all of them. Power: the coupled draws against the uncoupled
// exact variance are rejected. (Unbiasedness on the Gaussian VAE: tests/test_unbiased.cpp, which
// covers every registered estimator.)
#include <catch2/catch.hpp>
#include <cmath>
#include <numbers>

#include "estimators/estimator.hpp"
#include "models/latent_family.hpp"
#include "models/toy_gaussian.hpp"
#include "tests/support.hpp"

namespace gradest {
namespace {

constexpr std::int64_t kDraws = 100000;
constexpr double kAlpha = 1e-3;

struct Stats {
  double mean_mu = 0, var_mu = 0, m4_mu = 0, mean_lv = 0, var_lv = 0;
};

Stats draw(const char* name, double mu, double sigma, double k, std::uint64_t key) {
  EstimatorOptions options;
  std::string error;
  auto estimator = make_estimator(name, options, LatentKind::gaussian, &error);
  INFO(error);
  REQUIRE(estimator);
  GaussianCostObjective objective(GaussianTestCost{GaussianCost::square, k}, 1);
  StochasticNode node;
  node.family = &latent_family(LatentKind::gaussian);
  node.mean = Matrix::Constant(1, 1, Real(mu));
  node.log_var = Matrix::Constant(1, 1, Real(2 * std::log(sigma)));
  Rng rng = Rng::stream(testing::seed(), {stable_hash("measure-valued-test"), stable_hash(name), key});
  std::vector<double> gm(kDraws), gl(kDraws);
  NodeGradient grad;
  for (std::int64_t r = 0; r < kDraws; ++r) {
    grad.reset_like(node);
    estimator->estimate(node, objective, rng, grad);
    gm[r] = grad.d_mean(0, 0);
    gl[r] = grad.d_log_var(0, 0);
  }
  Stats s;
  for (std::int64_t r = 0; r < kDraws; ++r) {
    s.mean_mu += gm[r] / kDraws;
    s.mean_lv += gl[r] / kDraws;
  }
  for (std::int64_t r = 0; r < kDraws; ++r) {
    const double a = gm[r] - s.mean_mu, b = gl[r] - s.mean_lv;
    s.var_mu += a * a / (kDraws - 1);
    s.m4_mu += a * a * a * a / kDraws;
    s.var_lv += b * b / (kDraws - 1);
  }
  return s;
}

// Var (d + sigma W)^2 for W ~ Rayleigh(1).
double square_variance(double d, double sigma) {
  const double ew = std::sqrt(std::numbers::pi / 2), ew3 = 3 * ew;
  const double m2 = d * d + 2 * d * sigma * ew + 2 * sigma * sigma;
  const double m4 = std::pow(d, 4) + 4 * std::pow(d, 3) * sigma * ew + 12 * d * d * sigma * sigma +
                    4 * d * std::pow(sigma, 3) * ew3 + 8 * std::pow(sigma, 4);
  return m4 - m2 * m2;
}

double exact_mu_variance(bool coupled, double d, double sigma) {
  const double c = 1 / (sigma * std::sqrt(2 * std::numbers::pi));
  if (coupled) return 16 * c * c * d * d * sigma * sigma * (2 - std::numbers::pi / 2);
  return c * c * (square_variance(d, sigma) + square_variance(-d, sigma));
}

double variance_z(const Stats& s, double exact) {
  return (s.var_mu - exact) / std::sqrt(std::max(0.0, s.m4_mu - s.var_mu * s.var_mu) / kDraws);
}

struct Case {
  double mu, sigma, k;
};
constexpr Case kCases[] = {{1, 1, 1.5}, {0.3, 0.5, -1}, {2, 2, 0}};

}  // namespace

TEST_CASE("measure-valued: means and the d/dmu variance match closed forms on the square cost", "[estimators][gaussian]") {
  const double threshold = testing::bonferroni_z(kAlpha, 2 * std::size(kCases) * 3);
  for (bool coupled : {true, false}) {
    const char* name = coupled ? "measure-valued" : "measure-valued-uncoupled";
    for (const Case& c : kCases) {
      const double d = c.mu - c.k;
      const Stats s = draw(name, c.mu, c.sigma, c.k, std::uint64_t(c.mu * 10 + c.sigma * 100));
      const double z_mu = (s.mean_mu - 2 * d) / std::sqrt(s.var_mu / kDraws);
      const double z_lv = (s.mean_lv - c.sigma * c.sigma) / std::sqrt(s.var_lv / kDraws);
      const double exact = exact_mu_variance(coupled, d, c.sigma);
      const double z_var = variance_z(s, exact);
      INFO(name << " mu=" << c.mu << " sigma=" << c.sigma << " k=" << c.k << ": z(mean mu) " << z_mu << ", z(mean log var) "
                << z_lv << ", variance " << s.var_mu << " exact " << exact << " z " << z_var << "; threshold " << threshold);
      CHECK(std::abs(z_mu) <= threshold);
      CHECK(std::abs(z_lv) <= threshold);
      CHECK(std::abs(z_var) <= threshold);
    }
  }
  // Power: the coupled estimator's draws against the uncoupled exact variance.
  const Case c = kCases[0];
  const Stats s = draw("measure-valued", c.mu, c.sigma, c.k, 99);
  const double z = variance_z(s, exact_mu_variance(false, c.mu - c.k, c.sigma));
  INFO("coupled draws against the uncoupled exact variance: z " << z);
  CHECK(std::abs(z) > threshold);
}

}  // namespace gradest
