// relax (estimators/relax.hpp) on the Bernoulli toy of REBAR and RELAX, f(b) = (b - t)^2, k = 1,
// against its exact moments (models/toy_bernoulli.hpp: toy_bernoulli::relax, Gauss-Kronrod over the
// two uniforms given b, written from the formula independently of estimators/):
// - the exact mean equals the true gradient for arbitrary surrogates r(z) = a + b z + c tanh(z)
//   (the correction is exact), and r = 0 gives rebar's exact moments;
// - R = 100,000 draws per case with a FROZEN surrogate MLP of known weights (its r and r' written
//   here from the weights, independently of models/network.cpp), fixed seeds: z-tests of the mean
//   against the exact gradient and of the variance against the exact variance, Bonferroni at
//   family-wise 1e-3 over every case; power: the same draws are rejected against rebar's exact
//   variance (the surrogate removed);
// - on a small Bernoulli VAE with a frozen, nonzero surrogate fed the data (the registry-driven
//   unbiasedness suite sees relax only at r = 0, before any learn()): per-coordinate z-tests of the
//   mean node gradient against the exact gradient by enumeration, Bonferroni at family-wise 1e-3;
// - learning: the surrogate's loss is the single estimate's sum g^2, and training phi lowers the
//   exact variance.
// (Unbiasedness on the Bernoulli VAE: tests/test_unbiased.cpp covers every registered estimator.
// The adaptation's derivatives against finite differences: tests/f64_relax.cpp.)
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "estimators/estimator.hpp"
#include "estimators/relax.hpp"
#include "models/latent_family.hpp"
#include "models/network.hpp"
#include "models/parameters.hpp"
#include "models/toy_bernoulli.hpp"
#include "models/vae.hpp"
#include "run/toy_bernoulli.hpp"
#include "tests/support.hpp"
#include "tests/vae_cases.hpp"

namespace gradest {
namespace {

constexpr std::int64_t kDraws = 100000;
constexpr double kAlpha = 1e-3;
constexpr double kTheta = 0.5;
constexpr int kHidden = 3;

std::unique_ptr<Estimator> make_relax(double temperature, double scale, bool adapt) {
  EstimatorOptions options;
  options.set(Relax::kTemperature, temperature);
  options.set(Relax::kScale, scale);
  options.set(Relax::kAdaptScale, adapt);
  options.set(Relax::kAdaptTemperature, adapt);
  options.set(Relax::kHidden, std::vector<int>{kHidden});
  std::string error;
  auto estimator = make_estimator("relax", options, LatentKind::bernoulli, &error);
  INFO(error);
  REQUIRE(estimator);
  return estimator;
}

// A one-input surrogate r(z) = b2 + sum_i w2_i tanh(w1_i z + b1_i), from its weights (Network's
// documented layout [W_1, b_1, W_2, b_2]).
struct KnownSurrogate {
  double w1[kHidden], b1[kHidden], w2[kHidden], b2;
  double value(double z) const {
    double r = b2;
    for (int i = 0; i < kHidden; ++i) r += w2[i] * std::tanh(w1[i] * z + b1[i]);
    return r;
  }
  double slope(double z) const {
    double d = 0;
    for (int i = 0; i < kHidden; ++i) {
      const double h = std::tanh(w1[i] * z + b1[i]);
      d += w2[i] * w1[i] * (1 - h * h);
    }
    return d;
  }
  toy_bernoulli::ToySurrogate toy() const {
    return {[this](double z) { return value(z); }, [this](double z) { return slope(z); }};
  }
  void install(Relax& relax) const {
    Rng init(1);
    relax.init_surrogate(1, init);
    Vector& p = relax.surrogate_parameters()->values();
    REQUIRE(p.size() == 3 * kHidden + 1);
    for (int i = 0; i < kHidden; ++i) {
      p(i) = Real(w1[i]);
      p(kHidden + i) = Real(b1[i]);
      p(2 * kHidden + i) = Real(w2[i]);
    }
    p(3 * kHidden) = Real(b2);
  }
};

struct RelaxCase {
  double t, temperature, scale;
  KnownSurrogate surrogate;
};
const RelaxCase kCases[] = {
    {0.45, 1.0, 1.0, {{1.0, -0.5, 0.3}, {0.0, 0.2, -0.1}, {0.05, -0.1, 0.2}, 0.1}},
    {0.499, 0.5, 0.8, {{0.4, 1.5, -1.0}, {0.3, 0.0, 0.5}, {-0.2, 0.1, 0.05}, -0.2}},
    {0.45, 0.3, 0.0, {{2.0, -0.7, 0.9}, {-0.5, 0.4, 0.0}, {0.1, 0.3, -0.15}, 0.05}},
};
constexpr int kTestsPerCase = 2;

struct Sample {
  double mean = 0, variance = 0, m4 = 0;
};

Sample moments(const std::vector<double>& x) {
  Sample s;
  for (double v : x) s.mean += v / double(x.size());
  for (double v : x) {
    const double d = v - s.mean;
    s.variance += d * d / double(x.size() - 1);
    s.m4 += d * d * d * d / double(x.size());
  }
  return s;
}

double variance_z(const Sample& s, double exact, std::int64_t n) {
  return (s.variance - exact) / std::sqrt((s.m4 - s.variance * s.variance) / double(n));
}

}  // namespace

TEST_CASE("relax: the toy's exact moments are unbiased for arbitrary surrogates and equal rebar's at r = 0",
          "[relax]") {
  namespace tb = toy_bernoulli;
  struct Affine {
    double a, b, c;
  };
  for (double t : {0.45, 0.499})
    for (double theta : {-3.0, 0.5, 2.0})
      for (double lambda : {0.1, 1.0, 3.0})
        for (double eta : {0.0, 1.0})
          for (Affine r : {Affine{0, 0, 0}, Affine{0.3, 0, 0}, Affine{0.1, 0.05, 0.4}, Affine{-1, 0.5, -2}}) {
            const ToyBernoulli toy(t);
            const tb::ToySurrogate surrogate{[r](double z) { return r.a + r.b * z + r.c * std::tanh(z); },
                                             [r](double z) {
                                               const double h = std::tanh(z);
                                               return r.b + r.c * (1 - h * h);
                                             }};
            const ToyMoments m = tb::relax(toy, theta, 1, lambda, eta, surrogate);
            INFO("t " << t << " theta " << theta << " lambda " << lambda << " eta " << eta << " r = " << r.a << " + "
                      << r.b << " z + " << r.c << " tanh z");
            CHECK(m.mean == Approx(toy.exact_gradient(theta)).epsilon(testing::tolerance::kQuadrature).margin(1e-12));
            if (r.a == 0 && r.b == 0 && r.c == 0) {
              const ToyMoments rebar = tb::rebar(toy, theta, 1, lambda, eta);
              // Two quadratures of one integral (relax's in y = -log distance to the ends of v).
              CHECK(m.mean == Approx(rebar.mean).epsilon(testing::tolerance::kQuadrature).margin(1e-12));
              CHECK(m.variance == Approx(rebar.variance).epsilon(testing::tolerance::kQuadrature));
            }
          }
}

TEST_CASE("relax: draws with a frozen surrogate match the exact mean and variance on the Bernoulli toy", "[relax]") {
  const double threshold = testing::bonferroni_z(kAlpha, std::size(kCases) * kTestsPerCase);
  int index = 0;
  for (const auto& c : kCases) {
    auto estimator = make_relax(c.temperature, c.scale, false);
    auto& relax = dynamic_cast<Relax&>(*estimator);
    c.surrogate.install(relax);
    ToyBernoulli toy(c.t);
    // The run layer's exact moments read the estimator's own surrogate: the same as the formula here.
    const ToyMoments exact = toy_bernoulli::relax(toy, kTheta, 1, c.temperature, c.scale, c.surrogate.toy());
    const auto dispatched = toy_bernoulli_exact_moments(relax, toy, kTheta);
    REQUIRE(dispatched);
    CHECK(dispatched->variance == Approx(exact.variance).epsilon(1e-4));
    Rng rng = Rng::stream(testing::seed(), {stable_hash("relax-toy"), std::uint64_t(index++)});
    const std::vector<double> draws = toy_bernoulli_draws(relax, toy, kTheta, kDraws, rng);
    const Sample s = moments(draws);
    const double z_mean = (s.mean - exact.mean) / std::sqrt(s.variance / kDraws);
    const double z_var = variance_z(s, exact.variance, kDraws);
    const double rebar_variance = toy_bernoulli::rebar(toy, kTheta, 1, c.temperature, c.scale).variance;
    const double z_power = variance_z(s, rebar_variance, kDraws);
    INFO("t " << c.t << " lambda " << c.temperature << " eta " << c.scale << ": mean " << s.mean << " exact "
              << exact.mean << " z " << z_mean << "; variance " << s.variance << " exact " << exact.variance << " z "
              << z_var << "; against rebar's variance " << rebar_variance << " z " << z_power << "; threshold "
              << threshold);
    CHECK(std::abs(z_mean) < threshold);
    CHECK(std::abs(z_var) < threshold);
    CHECK(std::abs(z_power) > threshold);  // power: the surrogate's part is seen
  }
}

TEST_CASE("relax: the surrogate's loss is the estimate's sum of squares and learning lowers the exact variance",
          "[relax]") {
  const double t = 0.45;
  const ToyBernoulli toy(t);
  EstimatorOptions options;
  options.set(Relax::kLr, 0.01);
  std::string error;
  auto estimator = make_estimator("relax", options, LatentKind::bernoulli, &error);
  REQUIRE(estimator);
  auto& relax = dynamic_cast<Relax&>(*estimator);
  ToyBernoulli objective(t);
  Rng rng = Rng::stream(testing::seed(), {stable_hash("relax-learn")});
  const StochasticNode node = toy_bernoulli_node(kTheta);
  NodeGradient grad;
  CHECK(std::isnan(relax.diagnostics().baseline_loss));
  const double start = toy_bernoulli_exact_moments(relax, toy, kTheta)->variance;
  for (int step = 0; step < 20000; ++step) {
    grad.reset_like(node);
    relax.estimate(node, objective, rng, grad);
    if (step % 5000 == 0)
      CHECK(relax.diagnostics().baseline_loss == Approx(double(grad.d_logits(0, 0)) * grad.d_logits(0, 0)));
    relax.learn(rng);
  }
  REQUIRE(relax.surrogate());
  const double reinforce = toy_bernoulli::score_function(toy, kTheta, 1, 0.0).variance;
  const double reached = toy_bernoulli_exact_moments(relax, toy, kTheta)->variance;
  INFO("reached lambda " << relax.temperature() << " eta " << relax.scale() << ": exact variance " << reached
                         << " (start " << start << ", reinforce " << reinforce << ")");
  CHECK(reached < 0.05 * reinforce);
  CHECK(reached < 0.5 * start);
  CHECK(relax.diagnostics().temperature == Approx(relax.temperature()));
  CHECK(relax.diagnostics().scale == Approx(relax.scale()));
}

TEST_CASE("relax: with a frozen nonzero surrogate fed the data, the mean gradient on a small Bernoulli VAE is exact",
          "[relax]") {
  namespace vc = testing::vae_cases;
  constexpr std::int64_t kVaeDraws = 20000;
  Rng rng = Rng::stream(testing::seed(), {stable_hash("relax-vae")});
  VaeConfig config = vc::small_config({LatentKind::bernoulli, Likelihood::bernoulli, true, true, true});
  config.decoder = NetworkSpec{{4}, Activation::tanh};
  auto vae = Vae::make(config, rng);
  const Matrix x = vc::small_data(config, rng);
  Objective& objective = vae->objective(x, Objective::Terms::likelihood);
  StochasticNode node;
  node.family = &latent_family(LatentKind::bernoulli);
  node.logits.resize(x.rows(), config.latents);
  for (Index i = 0; i < node.logits.size(); ++i) node.logits(i) = Real(rng.normal());
  EstimatorOptions options;
  options.set(Relax::kData, true);
  options.set(Relax::kTemperature, 0.5);
  std::string error;
  auto estimator = make_estimator("relax", options, LatentKind::bernoulli, &error);
  REQUIRE(estimator);
  auto& relax = dynamic_cast<Relax&>(*estimator);
  relax.init_surrogate(int(config.latents + x.cols()), rng);
  Vector& rho = relax.surrogate_parameters()->values();
  for (Index i = 0; i < rho.size(); ++i) rho(i) = Real(0.5 * rng.normal());
  auto exact = make_estimator("exact", EstimatorOptions{}, LatentKind::bernoulli, &error);
  REQUIRE(exact);
  NodeGradient exact_grad, grad;
  exact_grad.reset_like(node);
  exact->estimate(node, objective, rng, exact_grad);
  MatrixD sum = MatrixD::Zero(node.logits.rows(), node.logits.cols()), sum_sq = sum;
  for (std::int64_t n = 0; n < kVaeDraws; ++n) {
    grad.reset_like(node);
    relax.estimate(node, objective, rng, grad);
    const MatrixD g = grad.d_logits.cast<double>();
    sum += g;
    sum_sq.array() += g.array().square();
  }
  const double threshold = testing::bonferroni_z(kAlpha, std::size_t(sum.size()));
  double largest = 0;
  for (Index i = 0; i < sum.size(); ++i) {
    const double mean = sum(i) / kVaeDraws, variance = sum_sq(i) / kVaeDraws - mean * mean;
    const double z = (mean - double(exact_grad.d_logits(i))) / std::sqrt(variance / kVaeDraws);
    INFO("coordinate " << i << ": mean " << mean << " exact " << exact_grad.d_logits(i) << " z " << z);
    CHECK(std::abs(z) < threshold);
    largest = std::max(largest, std::abs(z));
  }
  INFO("largest |z| " << largest << ", threshold " << threshold);
  CHECK(relax.surrogate()->in() == config.latents + x.cols());
}

}  // namespace gradest
