// rebar (estimators/rebar.hpp) on the Bernoulli toy of REBAR and RELAX, f(b) = (b - t)^2, k = 1,
// against its exact moments (models/toy_bernoulli.hpp: toy_bernoulli::rebar, Gauss-Kronrod over the
// two uniforms given b, written from the formula independently of estimators/):
// - the exact mean equals the true gradient sigmoid'(theta) ((1 - t)^2 - t^2) at every (lambda, eta)
//   (the control variate's correction is exact), and eta = 0 gives REINFORCE's exact moments;
// - R = 100,000 draws per case, fixed seeds: z-tests of the mean against the exact gradient and of
//   the variance against the exact variance (z = (s^2 - v) / sqrt((m4 - s^4) / R)), Bonferroni at
//   family-wise 1e-3 over every case; power: the same draws are rejected against the exact variance
//   of another (lambda, eta);
// - adapt-scale drives eta to the variance-minimising eta* of the exact moments (a parabola in eta);
// - Objective::gradient_in_z on the VAE gives backward's df/dz and adds no parameter gradient.
// (Unbiasedness on the Bernoulli VAE: tests/test_unbiased.cpp covers every registered estimator.
// The adaptation's derivatives against finite differences: tests/f64_rebar.cpp.)
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "estimators/estimator.hpp"
#include "estimators/rebar.hpp"
#include "models/latent_family.hpp"
#include "models/toy_bernoulli.hpp"
#include "models/vae.hpp"
#include "run/toy_bernoulli.hpp"
#include "tests/draw_statistics.hpp"
#include "tests/support.hpp"

namespace gradest {
namespace {

using testing::CoordinateStats;
using testing::draw_moments;
using testing::DrawMoments;
using testing::mean_z;
using testing::variance_z;

constexpr std::int64_t kDraws = 100000;
constexpr double kAlpha = 1e-3;
constexpr double kTheta = 0.5;

struct RebarCase {
  double t, temperature, scale;
};
constexpr RebarCase kCases[] = {{0.45, 1.0, 1.0}, {0.45, 0.3, 0.7}, {0.499, 0.5, 1.0}, {0.499, 2.0, -0.5}, {0.45, 0.1, 0.2}};
constexpr int kTestsPerCase = 2;

std::unique_ptr<Estimator> make_rebar(double temperature, double scale, bool adapt_scale = false) {
  EstimatorOptions options;
  options.set(Rebar::kTemperature, temperature);
  options.set(Rebar::kScale, scale);
  options.set(Rebar::kAdaptScale, adapt_scale);
  std::string error;
  auto estimator = make_estimator("rebar", options, LatentKind::bernoulli, &error);
  INFO(error);
  REQUIRE(estimator);
  return estimator;
}


}  // namespace

TEST_CASE("rebar: the toy's exact moments are unbiased at every temperature and scale, REINFORCE at eta = 0", "[rebar]") {
  namespace tb = toy_bernoulli;
  for (double t : {0.45, 0.499, 0.9})
    for (double theta : {-3.0, 0.5, 2.0})
      for (double lambda : {0.1, 0.5, 1.0, 3.0})
        for (double eta : {-1.0, 0.0, 0.5, 1.0}) {
          const ToyBernoulli toy(t);
          const ToyMoments m = tb::rebar(toy, theta, 1, lambda, eta);
          INFO("t " << t << " theta " << theta << " lambda " << lambda << " eta " << eta);
          CHECK(m.mean == Approx(toy.exact_gradient(theta)).epsilon(testing::tolerance::kQuadrature).margin(1e-12));
          if (eta == 0) CHECK(m.variance == Approx(tb::score_function(toy, theta, 1, 0.0).variance).epsilon(1e-10));
        }
}

TEST_CASE("rebar: draws on the Bernoulli toy match the exact mean and variance (t = 0.45, 0.499)", "[rebar]") {
  const double threshold = testing::bonferroni_z(kAlpha, std::size(kCases) * kTestsPerCase);
  std::vector<std::vector<double>> all;
  for (const auto& c : kCases) {
    auto estimator = make_rebar(c.temperature, c.scale);
    ToyBernoulli toy(c.t);
    Rng rng = Rng::stream(testing::seed(), {stable_hash("rebar-toy"), std::uint64_t(c.t * 1000), std::uint64_t(c.temperature * 100)});
    const std::vector<double> draws = toy_bernoulli_draws(*estimator, toy, kTheta, kDraws, rng);
    const DrawMoments s = draw_moments(draws);
    const ToyMoments exact = toy_bernoulli::rebar(toy, kTheta, 1, c.temperature, c.scale);
    const double z_mean = (s.mean - exact.mean) / std::sqrt(s.variance / kDraws);
    const double z_var = variance_z(s, exact.variance);
    INFO("t " << c.t << " lambda " << c.temperature << " eta " << c.scale << ": mean " << s.mean << " exact " << exact.mean
              << " z " << z_mean << "; variance " << s.variance << " exact " << exact.variance << " z " << z_var
              << "; threshold " << threshold);
    CHECK(std::abs(z_mean) < threshold);
    CHECK(std::abs(z_var) < threshold);
    all.push_back(draws);
  }
  // Power: each case's draws against the exact variance of the next case (same t where possible).
  for (std::size_t i = 0; i + 1 < std::size(kCases); ++i) {
    const auto& other = kCases[i + 1];
    const double wrong = toy_bernoulli::rebar(ToyBernoulli(kCases[i].t), kTheta, 1, other.temperature, other.scale).variance;
    const double z = variance_z(draw_moments(all[i]), wrong);
    INFO("case " << i << " against case " << i + 1 << "'s exact variance: z = " << z);
    CHECK(std::abs(z) > threshold);
  }
}

TEST_CASE("rebar: adapt-scale moves eta to the variance-minimising scale of the exact moments", "[rebar]") {
  // Var(eta) = a eta^2 + b eta + c from the exact moments at eta = -1, 0, 1: eta* = -b / (2a).
  const double t = 0.45, lambda = 0.5;
  const ToyBernoulli toy(t);
  const double vm = toy_bernoulli::rebar(toy, kTheta, 1, lambda, -1).variance,
               v0 = toy_bernoulli::rebar(toy, kTheta, 1, lambda, 0).variance,
               vp = toy_bernoulli::rebar(toy, kTheta, 1, lambda, 1).variance;
  const double a = (vp + vm) / 2 - v0, b = (vp - vm) / 2, optimum = -b / (2 * a);
  const double best = a * optimum * optimum + b * optimum + v0;
  EstimatorOptions options;
  options.set(Rebar::kTemperature, lambda);
  options.set(Rebar::kScale, 1.0);
  options.set(Rebar::kAdaptScale, true);
  options.set(Rebar::kAdaptTemperature, false);
  options.set(Rebar::kLr, 0.01);
  std::string error;
  auto estimator = make_estimator("rebar", options, LatentKind::bernoulli, &error);
  REQUIRE(estimator);
  auto* rebar = dynamic_cast<Rebar*>(estimator.get());
  REQUIRE(rebar);
  ToyBernoulli objective(t);
  Rng rng = Rng::stream(testing::seed(), {stable_hash("rebar-adapt")});
  toy_bernoulli_adapt(*rebar, objective, kTheta, 20000, rng);
  const double reached = toy_bernoulli::rebar(toy, kTheta, 1, lambda, rebar->scale()).variance;
  INFO("eta* " << optimum << " (variance " << best << "), reached eta " << rebar->scale() << " (variance " << reached
               << "); start eta 1 has variance " << vp);
  // Adam at a fixed step 0.01 hovers around the minimum; within 0.1 of eta* the excess variance is
  // a * 0.01, below 2% of the minimum here.
  CHECK(std::abs(rebar->scale() - optimum) < 0.1);
  CHECK(reached < best * 1.02);
  CHECK(rebar->diagnostics().scale == Approx(rebar->scale()));
  CHECK(rebar->diagnostics().temperature == Approx(lambda));
}

TEST_CASE("rebar: adapting the temperature and the scale together lowers the exact variance far below REINFORCE's",
          "[rebar]") {
  // As lambda grows, f(s~) tends to the constant f(1/2) and the control variate to a constant
  // baseline eta f(1/2): the joint adaptation can reach what a good baseline gives (reinforce-ma's
  // 5.6e-5 at t = 0.45), far below REINFORCE (1.36e-2) and below the best eta at lambda = 1.
  const double t = 0.45;
  const ToyBernoulli toy(t);
  EstimatorOptions options;  // adapt-scale and adapt-temperature are on by default
  options.set(Rebar::kLr, 0.01);
  std::string error;
  auto estimator = make_estimator("rebar", options, LatentKind::bernoulli, &error);
  REQUIRE(estimator);
  auto* rebar = dynamic_cast<Rebar*>(estimator.get());
  REQUIRE(rebar);
  ToyBernoulli objective(t);
  Rng rng = Rng::stream(testing::seed(), {stable_hash("rebar-adapt-both")});
  toy_bernoulli_adapt(*rebar, objective, kTheta, 20000, rng);
  const double reinforce = toy_bernoulli::score_function(toy, kTheta, 1, 0.0).variance;
  const double start = toy_bernoulli::rebar(toy, kTheta, 1, 1.0, 1.0).variance;
  const double reached = toy_bernoulli::rebar(toy, kTheta, 1, rebar->temperature(), rebar->scale()).variance;
  INFO("reached lambda " << rebar->temperature() << " eta " << rebar->scale() << ": exact variance " << reached
                         << " (start " << start << ", reinforce " << reinforce << ")");
  CHECK(reached < 0.05 * reinforce);
  CHECK(rebar->diagnostics().temperature == Approx(rebar->temperature()));
}

TEST_CASE("rebar: adapt-temperature is refused with a one-line reason on an objective without second derivatives",
          "[rebar]") {
  // The VAE gives second derivatives in z (see f64_rebar.cpp); this objective gives none.
  struct FirstOrder final : public Objective {
    Terms terms() const override { return Terms::toy; }
    Index batch() const override { return 1; }
    bool differentiable_in_z() const override { return true; }
    void backward(int, const Vector& w, Matrix* g) override {
      if (g) *g = z_.array().colwise() * w.array();
    }
    void gradient_in_z(int slot, const Vector& w, Matrix& g) override { backward(slot, w, &g); }
    void do_evaluate(int, const Matrix& z, Vector& value) override {
      z_ = z;
      value = z.rowwise().squaredNorm() / 2;
    }
    Matrix z_;
  } objective;
  EstimatorOptions options;
  options.set(Rebar::kAdaptTemperature, true);
  std::string error;
  auto estimator = make_estimator("rebar", options, LatentKind::bernoulli, &error);
  REQUIRE(estimator);
  Rng rng(1);
  const StochasticNode node = toy_bernoulli_node(0.0);
  NodeGradient grad;
  grad.reset_like(node);
  CHECK_THROWS_WITH(estimator->estimate(node, objective, rng, grad),
                    Catch::Contains("adapt-temperature needs the objective's second derivatives"));
}

TEST_CASE("rebar: gradient_in_z gives backward's df/dz and no parameter gradient on every VAE likelihood", "[rebar]") {
  for (auto likelihood : {Likelihood::bernoulli, Likelihood::gaussian_fixed, Likelihood::gaussian_learned}) {
    for (auto terms : {Objective::Terms::likelihood, Objective::Terms::joint}) {
      VaeConfig config;
      config.input_dim = 6;
      config.latents = 3;
      config.latent = LatentKind::bernoulli;
      config.likelihood = likelihood;
      config.encoder.hidden = {5};
      config.decoder.hidden = {4};
      Rng init(testing::seed());
      Vae vae(config, init);
      Rng rng = Rng::stream(testing::seed(), {stable_hash("rebar-gradient-in-z")});
      Matrix x(2, 6);
      for (Index i = 0; i < x.size(); ++i) x.data()[i] = Real(rng.uniform() < 0.5 ? 0 : 1);
      Matrix z(4, 3);
      rng.fill_uniform_open(z);
      Vector weight(4), value;
      weight << 1, -0.5, 2, 0.25;
      Objective& f = vae.objective(x, terms);
      vae.zero_gradient();
      f.evaluate(0, z, value);
      Matrix expected, got;
      f.backward(0, weight, &expected);
      const Vector with_parameters = vae.gradient();
      vae.zero_gradient();
      f.evaluate(1, z, value);
      f.gradient_in_z(1, weight, got);
      INFO("likelihood " << int(likelihood) << " terms " << int(terms));
      CHECK(with_parameters.norm() > 0);
      CHECK(vae.gradient().norm() == 0);
      REQUIRE(got.rows() == expected.rows());
      CHECK((got - expected).norm() <= 1e-6 * expected.norm());
    }
  }
}

}  // namespace gradest
