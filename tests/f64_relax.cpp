// relax's hand-written derivatives against central finite differences (float64 build):
// - Network::backward_directional: the parameter gradient of J = sum_r d_r_out_r . (d out_r/d x_r) v_r,
//   J computed from Network::backward_input, for tanh (act'' != 0), leaky-ReLU and linear networks;
// - the adaptation's derivatives of the estimate's second moment sum_{b,j} g_bj^2 at fixed noise in
//   eta, log lambda (Relax::last_d_scale, last_d_log_temperature) and the surrogate's weights rho
//   (Relax::last_d_surrogate), on a non-separable toy objective and on a small Bernoulli VAE with the
//   data fed to the surrogate.
// Companions: the checks fail on a directional gradient whose hidden biases' part (which arises only
// through act'') is dropped, and on an objective whose second derivative omits its cross term.
#include <catch2/catch.hpp>
#include <cmath>

#include "estimators/estimator.hpp"
#include "estimators/relax.hpp"
#include "models/latent_family.hpp"
#include "models/network.hpp"
#include "models/vae.hpp"
#include "tests/gradient_check.hpp"
#include "tests/support.hpp"
#include "tests/vae_cases.hpp"

namespace gradest {
namespace {

using testing::check_gradient;
using Terms = Objective::Terms;

// f(z) = sum_j (z_j - t)^2 + gamma (sum_j z_j)^3 per row (as tests/f64_rebar.cpp): the cubic couples
// the latents. `wrong_hessian` drops the cubic's curvature (the companion).
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

// The parameter gradient of J = sum_r d_r_out_r . (d out_r/d x_r) v_r, and J itself from backward_input.
struct Directional {
  Parameters params;
  std::unique_ptr<Network> net;
  Matrix x, v, d_r_out;
  double value() {
    Matrix out, d_in;
    net->forward(2, x, out);
    net->backward_input(2, d_r_out, d_in);
    return (d_in.array() * v.array()).sum();
  }
  Vector analytic() {
    Matrix out;
    net->forward(1, x, out);
    Vector grad = Vector::Zero(params.size());
    net->backward_directional(1, v, d_r_out, grad);
    return grad;
  }
};

std::unique_ptr<Directional> directional_case(Activation activation, std::vector<int> hidden, Rng& rng) {
  auto c = std::make_unique<Directional>();
  const int in = 3, out = 2;
  const Index B = 5;
  c->net = std::make_unique<Network>(c->params, "net", in, out, NetworkSpec{hidden, activation});
  for (Index i = 0; i < c->params.size(); ++i) c->params.values()(i) = 0.7 * rng.normal();
  c->x.resize(B, in);
  c->v.resize(B, in);
  c->d_r_out.resize(B, out);
  rng.fill_normal(c->x);
  rng.fill_normal(c->v);
  rng.fill_normal(c->d_r_out);
  return c;
}

// A relax estimator at (eta, lambda) whose surrogate has the given weights.
std::unique_ptr<Estimator> make_relax(double eta, double lambda, int samples, bool data,
                                      const std::vector<int>& hidden) {
  EstimatorOptions options;
  options.samples = samples;
  options.set(Relax::kScale, eta);
  options.set(Relax::kTemperature, lambda);
  options.set(Relax::kAdaptTemperature, true);
  options.set(Relax::kData, data);
  options.set(Relax::kHidden, hidden);
  std::string error;
  auto estimator = make_estimator("relax", options, LatentKind::bernoulli, &error);
  INFO(error);
  REQUIRE(estimator);
  return estimator;
}

struct Moment {
  double value = 0, d_scale = 0, d_log_temperature = 0;
  Vector d_surrogate;
};
Moment second_moment(Relax& relax, const StochasticNode& node, Objective& objective, std::uint64_t seed) {
  Rng rng(seed);
  NodeGradient grad;
  grad.reset_like(node);
  relax.estimate(node, objective, rng, grad);
  return {grad.d_logits.squaredNorm(), relax.last_d_scale(), relax.last_d_log_temperature(), relax.last_d_surrogate()};
}

struct AdaptationChecks {
  testing::GradientCheckResult cv, surrogate;
};
// Central differences of sum g^2 in (eta, log lambda) and in the surrogate's weights, at fixed noise.
AdaptationChecks check_adaptation(const StochasticNode& node, Objective& objective, double eta, double lambda,
                                  int samples, bool data, int inputs, const Vector& weights, std::uint64_t seed,
                                  bool drop_hidden_bias = false) {
  const std::vector<int> hidden = {4};
  auto at_point = [&](double e, double log_l) {
    auto estimator = make_relax(e, std::exp(log_l), samples, data, hidden);
    auto& relax = dynamic_cast<Relax&>(*estimator);
    Rng init(1);
    relax.init_surrogate(inputs, init);
    relax.surrogate_parameters()->values() = weights;
    return second_moment(relax, node, objective, seed);
  };
  const Moment at = at_point(eta, std::log(lambda));
  Vector point(2), analytic(2);
  point << eta, std::log(lambda);
  analytic << at.d_scale, at.d_log_temperature;
  AdaptationChecks result;
  result.cv = check_gradient(
      point, [&] { return at_point(point(0), point(1)).value; }, analytic);
  // rho: one estimator, its weights perturbed in place.
  auto estimator = make_relax(eta, lambda, samples, data, hidden);
  auto& relax = dynamic_cast<Relax&>(*estimator);
  Rng init(1);
  relax.init_surrogate(inputs, init);
  Vector& rho = relax.surrogate_parameters()->values();
  rho = weights;
  Vector d_rho = at.d_surrogate;
  REQUIRE(d_rho.size() == rho.size());
  if (drop_hidden_bias) d_rho.segment(Index(inputs) * hidden[0], hidden[0]).setZero();
  result.surrogate = check_gradient(
      rho, [&] { return second_moment(relax, node, objective, seed).value; }, d_rho);
  return result;
}

Vector random_weights(int inputs, Rng& rng) {
  Vector w(Network::parameter_count(inputs, 1, NetworkSpec{{4}, Activation::tanh}));
  for (Index i = 0; i < w.size(); ++i) w(i) = 0.6 * rng.normal();
  return w;
}

}  // namespace

TEST_CASE("relax: Network::backward_directional matches finite differences of the input gradient's projection",
          "[relax][network][gradient]") {
  Rng rng = Rng::stream(testing::seed(), {stable_hash("relax-directional")});
  for (Activation activation : {Activation::tanh, Activation::leaky_relu, Activation::none})
    for (const std::vector<int>& hidden : {std::vector<int>{4}, std::vector<int>{4, 3}, std::vector<int>{}}) {
      auto c = directional_case(activation, hidden, rng);
      const Vector analytic = c->analytic();
      const auto result = check_gradient(
          c->params.values(), [&] { return c->value(); }, analytic);
      CAPTURE(to_string(activation), hidden.size());
      INFO(result.describe());
      CHECK(result.passed);
      CHECK(analytic.norm() > 0);
    }
}

TEST_CASE("relax: the directional check fails without the activation's curvature term", "[relax][network][gradient]") {
  // The hidden biases move J only through act'(a) (R(a) does not depend on them): their gradient is
  // the act'' term alone. Dropping it is the mistake a first-order-only double backward makes.
  Rng rng = Rng::stream(testing::seed(), {stable_hash("relax-directional-wrong")});
  auto c = directional_case(Activation::tanh, {4}, rng);
  const Vector analytic = c->analytic();
  Vector wrong = analytic;
  wrong.segment(3 * 4, 4).setZero();  // b_1, after W_1 (3 x 4)
  CHECK(check_gradient(
            c->params.values(), [&] { return c->value(); }, analytic)
            .passed);
  const auto result = check_gradient(
      c->params.values(), [&] { return c->value(); }, wrong);
  INFO(result.describe());
  CHECK_FALSE(result.passed);
}

TEST_CASE("relax: the adaptation's derivatives in eta, log lambda and rho match finite differences",
          "[relax][gradient]") {
  Rng rng = Rng::stream(testing::seed(), {stable_hash("relax-adapt-fd")});
  SECTION("a non-separable toy, k = 3, B = 2, S = 2") {
    CubicToy toy(2, 0.45, 0.3);
    const StochasticNode node = bernoulli_node(2, 3, rng);
    const Vector weights = random_weights(3, rng);
    for (auto [eta, lambda] : {std::pair{1.0, 1.0}, std::pair{0.4, 0.3}, std::pair{-0.7, 2.5}}) {
      const auto result = check_adaptation(node, toy, eta, lambda, 2, false, 3, weights, 11);
      CAPTURE(eta, lambda);
      INFO("eta, log lambda: " << result.cv.describe() << "; rho: " << result.surrogate.describe());
      CHECK(result.cv.passed);
      CHECK(result.surrogate.passed);
    }
    // Companions: a missing curvature term in the objective, and in the surrogate's double backward.
    const auto dropped = check_adaptation(node, toy, 1.0, 1.0, 2, false, 3, weights, 11, true);
    INFO("hidden-bias part dropped: " << dropped.surrogate.describe());
    CHECK(dropped.cv.passed);
    CHECK_FALSE(dropped.surrogate.passed);
    toy.wrong_hessian = true;
    const auto wrong = check_adaptation(node, toy, 1.0, 1.0, 2, false, 3, weights, 11);
    INFO("cubic curvature dropped: " << wrong.cv.describe());
    CHECK_FALSE(wrong.cv.passed);
  }
  SECTION("a small Bernoulli VAE, tanh decoder, the data fed to the surrogate") {
    namespace vc = testing::vae_cases;
    VaeConfig config = vc::small_config({LatentKind::bernoulli, Likelihood::bernoulli, true, true, true});
    config.decoder = NetworkSpec{{4}, Activation::tanh};
    auto vae = Vae::make(config, rng);
    for (Index i = 0; i < vae->parameters().size(); ++i) vae->parameters().values()(i) += 0.3 * rng.normal();
    const Matrix x = vc::small_data(config, rng);
    Objective& objective = vae->objective(x, Terms::likelihood);
    const StochasticNode node = bernoulli_node(x.rows(), config.latents, rng);
    const int inputs = int(config.latents + x.cols());
    const Vector weights = random_weights(inputs, rng);
    for (auto [eta, lambda] : {std::pair{1.0, 1.0}, std::pair{0.5, 0.4}}) {
      const auto result = check_adaptation(node, objective, eta, lambda, 2, true, inputs, weights, 17);
      CAPTURE(eta, lambda);
      INFO("eta, log lambda: " << result.cv.describe() << "; rho: " << result.surrogate.describe());
      CHECK(result.cv.passed);
      CHECK(result.surrogate.passed);
    }
  }
}

}  // namespace gradest
