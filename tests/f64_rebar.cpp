// rebar's hand-written second derivatives against central finite differences (float64 build):
// - the VAE objective's Hessian-vector product in z (Objective::hessian_vector_in_z, the decoder's
//   R-operator, models/network.hpp) for every likelihood, tanh and leaky-ReLU decoders, plain and
//   signed (2z - 1) decoder input: row r of H v is the z-gradient of sum_r w_r df/dz_r . v_r;
// - the adaptation's derivatives of the estimate's second moment, sum_{b,j} g_bj^2, in eta and in
//   log lambda (Rebar::last_d_scale, last_d_log_temperature) at fixed noise, on a non-separable toy
//   objective and on a small Bernoulli VAE.
// Companions: the same checks fail on a wrong Hessian-vector product (one column zeroed) and on an
// objective whose second derivative omits its cross term (the adaptation's check).
#include <catch2/catch.hpp>

#include <cmath>

#include "estimators/estimator.hpp"
#include "estimators/rebar.hpp"
#include "models/latent_family.hpp"
#include "models/vae.hpp"
#include "tests/gradient_check.hpp"
#include "tests/support.hpp"
#include "tests/vae_cases.hpp"

namespace gradest {
namespace {

using testing::check_gradient;
using Terms = Objective::Terms;

// f(z) = sum_j (z_j - t)^2 + gamma (sum_j z_j)^3 per row: the cubic couples the latents, so its
// Hessian has off-diagonal terms. `wrong_hessian` drops the cubic's curvature (the companion).
class CubicToy final : public Objective {
 public:
  CubicToy(Index batch, double t, double gamma) : batch_(batch), t_(t), gamma_(gamma) {}
  bool wrong_hessian = false;
  Terms terms() const override { return Terms::toy; }
  Index batch() const override { return batch_; }
  bool differentiable_in_z() const override { return true; }
  void backward(int slot, const Vector& w, Matrix* g) override {
    if (g) gradient_in_z(slot, w, *g);
  }
  void gradient_in_z(int slot, const Vector& w, Matrix& g) override {
    const Matrix& z = z_[slot];
    g.resize(z.rows(), z.cols());
    for (Index r = 0; r < z.rows(); ++r) {
      const double sum = z.row(r).sum();
      for (Index j = 0; j < z.cols(); ++j) g(r, j) = w(r) * (2 * (z(r, j) - t_) + 3 * gamma_ * sum * sum);
    }
  }
  bool hessian_vector_in_z(int slot, const Vector& w, const Matrix& v, Matrix& hv) override {
    const Matrix& z = z_[slot];
    hv.resize(z.rows(), z.cols());
    for (Index r = 0; r < z.rows(); ++r) {
      const double cross = wrong_hessian ? 0.0 : 6 * gamma_ * z.row(r).sum() * v.row(r).sum();
      for (Index j = 0; j < z.cols(); ++j) hv(r, j) = w(r) * (2 * v(r, j) + cross);
    }
    return true;
  }

 protected:
  void do_evaluate(int slot, const Matrix& z, Vector& value) override {
    z_[slot] = z;
    value.resize(z.rows());
    for (Index r = 0; r < z.rows(); ++r) {
      const double sum = z.row(r).sum();
      value(r) = (z.row(r).array() - t_).square().sum() + gamma_ * sum * sum * sum;
    }
  }

 private:
  Index batch_;
  double t_, gamma_;
  Matrix z_[kSlots];
};

StochasticNode bernoulli_node(Index batch, Index k, Rng& rng) {
  StochasticNode node;
  node.family = &latent_family(LatentKind::bernoulli);
  node.logits.resize(batch, k);
  for (Index i = 0; i < node.logits.size(); ++i) node.logits(i) = rng.normal();
  return node;
}

// sum_{b,j} g_bj^2 of one rebar estimate at (eta, lambda), the noise drawn from `seed`.
struct SecondMoment {
  double value = 0, d_scale = 0, d_log_temperature = 0;
};
SecondMoment second_moment(const StochasticNode& node, Objective& objective, double eta, double lambda, int samples,
                           std::uint64_t seed) {
  EstimatorOptions options;
  options.samples = samples;
  options.set(Rebar::kScale, eta);
  options.set(Rebar::kTemperature, lambda);
  options.set(Rebar::kAdaptTemperature, true);
  std::string error;
  auto estimator = make_estimator("rebar", options, LatentKind::bernoulli, &error);
  REQUIRE(estimator);
  auto& rebar = dynamic_cast<Rebar&>(*estimator);
  Rng rng(seed);
  NodeGradient grad;
  grad.reset_like(node);
  rebar.estimate(node, objective, rng, grad);
  return {grad.d_logits.squaredNorm(), rebar.last_d_scale(), rebar.last_d_log_temperature()};
}

// Checks both derivatives of the second moment by central differences in eta and in log lambda.
testing::GradientCheckResult check_adaptation(const StochasticNode& node, Objective& objective, double eta,
                                              double lambda, int samples, std::uint64_t seed) {
  const SecondMoment at = second_moment(node, objective, eta, lambda, samples, seed);
  Vector point(2), analytic(2);
  point << eta, std::log(lambda);
  analytic << at.d_scale, at.d_log_temperature;
  return check_gradient(
      point, [&] { return second_moment(node, objective, point(0), std::exp(point(1)), samples, seed).value; }, analytic);
}

}  // namespace

TEST_CASE("rebar: the VAE's Hessian-vector product in z matches finite differences of its z-gradient",
          "[rebar][vae][gradient]") {
  namespace vc = testing::vae_cases;
  Rng rng = Rng::stream(testing::seed(), {stable_hash("rebar-hvp")});
  int checked = 0;
  for (Likelihood likelihood :
       {Likelihood::bernoulli, Likelihood::gaussian_fixed, Likelihood::gaussian_learned, Likelihood::categorical})
    for (Activation activation : {Activation::tanh, Activation::leaky_relu})
      for (bool signed_input : {false, true})
        for (Terms terms : {Terms::likelihood, Terms::joint}) {
          vc::Case c{LatentKind::bernoulli, likelihood, false, signed_input, true};
          VaeConfig config = vc::small_config(c);
          config.decoder = NetworkSpec{{4, 3}, activation};
          auto vae = Vae::make(config, rng);
          for (Index i = 0; i < vae->parameters().size(); ++i) vae->parameters().values()(i) += 0.3 * rng.normal();
          const Matrix x = vc::small_data(config, rng);
          Matrix z = vc::latent_noise(LatentKind::bernoulli, config.latents, rng);
          Matrix v(z.rows(), z.cols());
          rng.fill_normal(v);
          const Vector w = Vector::LinSpaced(z.rows(), -1.0, 2.0);
          Objective& objective = vae->objective(x, terms);
          Vector f;
          Matrix hv;
          objective.evaluate(2, z, f);
          REQUIRE(objective.hessian_vector_in_z(2, w, v, hv));
          auto directional = [&] {  // sum_r w_r df/dz_r . v_r at the current z
            Vector value;
            Matrix g;
            objective.evaluate(3, z, value);
            objective.gradient_in_z(3, w, g);
            return (g.array() * v.array()).sum();
          };
          auto result = check_gradient(z, directional, hv);
          CAPTURE(vc::describe(c), to_string(activation), terms == Terms::joint);
          INFO(result.describe());
          CHECK(result.passed);
          ++checked;
        }
  CHECK(checked == 32);
  // Gaussian latents give none (their log prior is not linear in z): false, hv untouched.
  auto gaussian = vc::small_vae({LatentKind::gaussian, Likelihood::bernoulli}, rng);
  const Matrix x = vc::small_data(gaussian->config(), rng);
  Objective& objective = gaussian->objective(x, Terms::joint);
  Matrix z = vc::latent_noise(LatentKind::gaussian, gaussian->config().latents, rng), hv;
  Vector f;
  objective.evaluate(0, z, f);
  CHECK_FALSE(objective.hessian_vector_in_z(0, Vector::Ones(z.rows()), z, hv));
}

TEST_CASE("rebar: the Hessian-vector check fails on a wrong product", "[rebar][vae][gradient]") {
  // The same check as above on a tanh decoder, given H v with one latent's column zeroed: rejected.
  namespace vc = testing::vae_cases;
  Rng rng = Rng::stream(testing::seed(), {stable_hash("rebar-hvp-wrong")});
  VaeConfig config = vc::small_config({LatentKind::bernoulli, Likelihood::bernoulli});
  config.decoder = NetworkSpec{{4, 3}, Activation::tanh};
  auto vae = Vae::make(config, rng);
  for (Index i = 0; i < vae->parameters().size(); ++i) vae->parameters().values()(i) += 0.5 * rng.normal();
  const Matrix x = vc::small_data(config, rng);
  Matrix z = vc::latent_noise(LatentKind::bernoulli, config.latents, rng), v(z.rows(), z.cols());
  rng.fill_normal(v);
  const Vector w = Vector::Ones(z.rows());
  Objective& objective = vae->objective(x, Terms::likelihood);
  Vector f;
  objective.evaluate(2, z, f);
  Matrix hv;
  REQUIRE(objective.hessian_vector_in_z(2, w, v, hv));
  Matrix wrong = hv;
  wrong.col(0).setZero();
  auto directional = [&] {
    Vector value;
    Matrix g;
    objective.evaluate(3, z, value);
    objective.gradient_in_z(3, w, g);
    return (g.array() * v.array()).sum();
  };
  CHECK(check_gradient(z, directional, hv).passed);
  const auto result = check_gradient(z, directional, wrong);
  INFO(result.describe());
  CHECK_FALSE(result.passed);
}

TEST_CASE("rebar: the adaptation's derivatives in eta and log lambda match finite differences", "[rebar][gradient]") {
  Rng rng = Rng::stream(testing::seed(), {stable_hash("rebar-adapt-fd")});
  SECTION("a non-separable toy, k = 3, B = 2, S = 2") {
    CubicToy toy(2, 0.45, 0.3);
    const StochasticNode node = bernoulli_node(2, 3, rng);
    for (auto [eta, lambda] : {std::pair{1.0, 1.0}, std::pair{0.4, 0.3}, std::pair{-0.7, 2.5}}) {
      const auto result = check_adaptation(node, toy, eta, lambda, 2, 11);
      CAPTURE(eta, lambda);
      INFO(result.describe());
      CHECK(result.passed);
    }
    toy.wrong_hessian = true;  // companion: the check catches a missing curvature term
    const auto wrong = check_adaptation(node, toy, 1.0, 1.0, 2, 11);
    INFO(wrong.describe());
    CHECK_FALSE(wrong.passed);
  }
  SECTION("a small Bernoulli VAE, tanh decoder, signed input") {
    namespace vc = testing::vae_cases;
    VaeConfig config = vc::small_config({LatentKind::bernoulli, Likelihood::bernoulli, true, true, true});
    config.decoder = NetworkSpec{{4}, Activation::tanh};
    auto vae = Vae::make(config, rng);
    for (Index i = 0; i < vae->parameters().size(); ++i) vae->parameters().values()(i) += 0.3 * rng.normal();
    const Matrix x = vc::small_data(config, rng);
    Objective& objective = vae->objective(x, Terms::likelihood);
    const StochasticNode node = bernoulli_node(x.rows(), config.latents, rng);
    for (auto [eta, lambda] : {std::pair{1.0, 1.0}, std::pair{0.5, 0.4}}) {
      const auto result = check_adaptation(node, objective, eta, lambda, 2, 17);
      CAPTURE(eta, lambda);
      INFO(result.describe());
      CHECK(result.passed);
    }
  }
}

}  // namespace gradest
