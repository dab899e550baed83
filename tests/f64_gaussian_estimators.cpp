// Importance-weighted and pathwise estimators (iwae, stl, dreg) and the learned baseline
// (reinforce-nvil) against exact gradients of a linear-Gaussian latent model.
//
// The toy: B data points x_b (scalar), d latent dimensions,
//   p(z) = N(0, I),  p(x | z) = N(x; a.z + c, s^2),  decoder parameters (a, c) learnable, s fixed,
//   q(z | x_b) = N(mean_b, diag exp(log_var_b)), the node's parameters given directly.
// Exact references:
//   - the ELBO's likelihood part, sum_b E_q[log p(x_b | z)], and its gradient in closed form;
//   - the K-sample bound sum_b E[log (1/K) sum_k w_k] and its gradient by tensor-product
//     Gauss-Hermite quadrature over the K*d standard normals of the reparameterisation
//     (models/quadrature_gh.hpp, converged between orders 24 and 32), the gradient as central
//     differences of the integrand (so the reference never uses an estimator's derivative formula);
//     at K = 1 it is also checked against its closed form.
// Unbiasedness: R independent estimates, per-coordinate z = (mean - exact) / (sd / sqrt R) over the
// encoder node gradient (mean, log_var of every data point) AND the decoder gradient (a, c); the
// test fails when max |z| exceeds the two-sided Bonferroni threshold for family-wise level kAlpha.
// Power: the same test at the same R rejects biased variants.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <numbers>
#include <string>

#include "estimators/estimator.hpp"
#include "estimators/importance_weights.hpp"
#include "estimators/reinforce_nvil.hpp"
#include "models/latent_family.hpp"
#include "models/distributions.hpp"
#include "models/quadrature_gh.hpp"
#include "tests/support.hpp"

namespace gradest {
namespace {

using Eigen::VectorXd;
using testing::bonferroni_z;

constexpr double kAlpha = 1e-4;  // family-wise level of every unbiasedness test in this file
constexpr int kDraws = 20000;    // R, the estimates per z-test
const double kLog2Pi = std::log(2 * std::numbers::pi);

struct LinearGaussianToy {
  VectorXd x;  // B
  VectorXd a;  // d
  double c = 0, s = 1;
  MatrixD mean, log_var;  // B x d

  Index batch() const { return x.size(); }
  Index dims() const { return a.size(); }
  // Coordinates of a gradient: [mean(b, j) at b*d + j, log_var(b, j) at B*d + b*d + j, a_j, c].
  Index coordinates() const { return 2 * batch() * dims() + dims() + 1; }
  double& coordinate(Index i) {
    const Index B = batch(), d = dims();
    if (i < B * d) return mean(i / d, i % d);
    if (i < 2 * B * d) return log_var((i - B * d) / d, (i - B * d) % d);
    if (i < 2 * B * d + d) return a(i - 2 * B * d);
    return c;
  }

  StochasticNode node() const {
    StochasticNode n;
    n.family = &latent_family(LatentKind::gaussian);
    n.mean = mean.cast<Real>();
    n.log_var = log_var.cast<Real>();
    return n;
  }
  double log_likelihood(Index b, const VectorXd& z) const {
    const double r = x(b) - a.dot(z) - c;
    return -0.5 * std::log(2 * std::numbers::pi * s * s) - r * r / (2 * s * s);
  }
  double log_prior(const VectorXd& z) const { return -0.5 * double(z.size()) * kLog2Pi - 0.5 * z.squaredNorm(); }
};

// A toy in which q is well away from the posterior, so the importance weights vary.
// With matched_variance (d = 1) q's variance equals the posterior's, 1 / (1 + a^2/s^2), and only the
// means are off: then log w is LINEAR in the reparameterisation noise eps, so log mean_k w_k is an
// entire function of slow growth and tensor-product Gauss-Hermite converges fast. (With a quadratic
// log w it behaves like a max of quadratics in the tails and converges only algebraically: orders
// 32 and 48 differ by ~1e-5, too coarse for dreg's small standard errors.)
LinearGaussianToy make_toy(int dims, bool matched_variance = false) {
  LinearGaussianToy toy;
  toy.x = VectorXd{{-1.0, 0.5, 2.0}};
  toy.c = 0.3;
  toy.s = 1.0;
  if (dims == 1) {
    toy.a = VectorXd{{1.5}};
    toy.mean = MatrixD{{0.2}, {-0.4}, {0.9}};
    toy.log_var = MatrixD{{-0.5}, {0.3}, {-1.2}};
    if (matched_variance) toy.log_var.setConstant(-std::log1p(toy.a(0) * toy.a(0) / (toy.s * toy.s)));
  } else {
    toy.a = VectorXd{{1.5, -0.7}};
    toy.mean = MatrixD{{0.2, -0.3}, {-0.4, 0.1}, {0.9, 0.5}};
    toy.log_var = MatrixD{{-0.5, 0.2}, {0.3, -0.8}, {-1.2, 0.0}};
  }
  return toy;
}

// f(x_b, z) = log p(x_b | z) [+ log p(z) when terms are joint], with a hand-written backward.
class LinearGaussianObjective final : public Objective {
 public:
  LinearGaussianObjective(const LinearGaussianToy& toy, Terms terms) : toy_(toy), terms_(terms) {
    inputs_ = toy.x.cast<Real>();
    reset_gradient();
  }
  Terms terms() const override { return terms_; }
  Index batch() const override { return toy_.batch(); }
  bool differentiable_in_z() const override { return true; }
  const Matrix* inputs() const override { return &inputs_; }

  void backward(int slot, const Vector& weight, Matrix* grad_z) override {
    const Matrix& z = z_[slot];
    const Index d = toy_.dims();
    if (grad_z) grad_z->resize(z.rows(), d);
    for (Index r = 0; r < z.rows(); ++r) {
      const VectorXd zr = z.row(r).transpose().cast<double>();
      const double residual = (toy_.x(r % batch()) - toy_.a.dot(zr) - toy_.c) / (toy_.s * toy_.s);
      grad_a += double(weight(r)) * residual * zr;
      grad_c += double(weight(r)) * residual * (wrong_backward ? -1.0 : 1.0);
      if (grad_z) {
        VectorXd dz = residual * toy_.a;
        if (terms_ == Terms::joint) dz -= zr;
        grad_z->row(r) = (double(weight(r)) * dz).transpose().cast<Real>();
      }
    }
  }
  void reset_gradient() {
    grad_a.setZero(toy_.dims());
    grad_c = 0;
  }

  VectorXd grad_a;
  double grad_c = 0;
  bool wrong_backward = false;  // flips d/dc: for the test that shows the gradient check can fail

 protected:
  void do_evaluate(int slot, const Matrix& z, Vector& value) override {
    z_[slot] = z;
    value.resize(z.rows());
    for (Index r = 0; r < z.rows(); ++r) {
      const VectorXd zr = z.row(r).transpose().cast<double>();
      double f = toy_.log_likelihood(r % batch(), zr);
      if (terms_ == Terms::joint) f += toy_.log_prior(zr);
      value(r) = Real(f);
    }
  }

 private:
  const LinearGaussianToy& toy_;
  Terms terms_;
  Matrix inputs_;
  Matrix z_[kSlots];
};

// ---- exact references -----------------------------------------------------------------------

// Gradient of sum_b E_q[log p(x_b | z)] (the expectation ELBO estimators target; the caller adds KL).
VectorXd exact_likelihood_gradient(const LinearGaussianToy& toy) {
  const Index B = toy.batch(), d = toy.dims();
  VectorXd g = VectorXd::Zero(toy.coordinates());
  const double s2 = toy.s * toy.s;
  for (Index b = 0; b < B; ++b) {
    const VectorXd mu = toy.mean.row(b).transpose(), var = toy.log_var.row(b).transpose().array().exp();
    const double r = toy.x(b) - toy.a.dot(mu) - toy.c;
    for (Index j = 0; j < d; ++j) {
      g(b * d + j) = toy.a(j) * r / s2;
      g(B * d + b * d + j) = -toy.a(j) * toy.a(j) * var(j) / (2 * s2);
      g(2 * B * d + j) += (r * mu(j) - toy.a(j) * var(j)) / s2;
    }
    g(2 * B * d + d) += r / s2;
  }
  return g;
}

// Closed form of the K = 1 bound, sum_b E_q[log p(x_b, z) - log q(z | x_b)], and its gradient.
double exact_elbo_value(const LinearGaussianToy& toy) {
  double total = 0;
  for (Index b = 0; b < toy.batch(); ++b) {
    const VectorXd mu = toy.mean.row(b).transpose(), var = toy.log_var.row(b).transpose().array().exp();
    const double r = toy.x(b) - toy.a.dot(mu) - toy.c;
    total += -0.5 * std::log(2 * std::numbers::pi * toy.s * toy.s) -
             (r * r + toy.a.array().square().matrix().dot(var)) / (2 * toy.s * toy.s);
    total += -0.5 * double(toy.dims()) * kLog2Pi - 0.5 * (mu.squaredNorm() + var.sum());
    total += 0.5 * double(toy.dims()) * (kLog2Pi + 1) + 0.5 * toy.log_var.row(b).sum();
  }
  return total;
}
VectorXd exact_elbo_gradient(const LinearGaussianToy& toy) {
  const Index B = toy.batch(), d = toy.dims();
  VectorXd g = exact_likelihood_gradient(toy);
  for (Index b = 0; b < B; ++b)
    for (Index j = 0; j < d; ++j) {
      g(b * d + j) -= toy.mean(b, j);
      g(B * d + b * d + j) += -0.5 * std::exp(toy.log_var(b, j)) + 0.5;
    }
  return g;
}

// log (1/K) sum_k w_k for data point b at standard normals eps (K*d, sample-major).
double log_mean_weight(const LinearGaussianToy& toy, Index b, int K, const VectorXd& eps) {
  const Index d = toy.dims();
  double max_log_w = -INFINITY;
  VectorXd log_w(K);
  for (int k = 0; k < K; ++k) {
    const VectorXd e = eps.segment(k * d, d);
    const VectorXd z = toy.mean.row(b).transpose() + ((0.5 * toy.log_var.row(b).transpose()).array().exp() * e.array()).matrix();
    const double log_q = -0.5 * double(d) * kLog2Pi - 0.5 * toy.log_var.row(b).sum() - 0.5 * e.squaredNorm();
    log_w(k) = toy.log_likelihood(b, z) + toy.log_prior(z) - log_q;
    max_log_w = std::max(max_log_w, log_w(k));
  }
  return max_log_w + std::log((log_w.array() - max_log_w).exp().sum() / K);
}

// The references for K >= 2 use make_toy(1, true) (see there). The tolerance is below 1% of the
// smallest Monte Carlo standard error the z-tests resolve (checked there), so the reference moves
// no z-score by more than 0.01.
const GaussHermiteCheck kBoundCheck{.order = 24, .check_order = 32, .tolerance = 1e-7};
// The general toy (quadratic log w) at K = 2 only (2 dimensions): high orders, looser tolerance;
// the test checks that every standard error is > 20 times it (a z-score moves by < 0.05).
const GaussHermiteCheck kGeneralBoundCheck{.order = 64, .check_order = 96, .tolerance = 3e-6};

struct BoundReference {
  double value = 0;
  VectorXd gradient;
};

// The K-sample bound and its gradient: per data point, Gauss-Hermite over K*d dimensions of
// [log mean w, (log mean w(theta + h e_i) - log mean w(theta - h e_i)) / 2h for each coordinate i].
BoundReference exact_bound(LinearGaussianToy toy, int K, const GaussHermiteCheck& check = kBoundCheck) {
  constexpr double h = 1e-5;
  const Index m = toy.coordinates();
  BoundReference out;
  out.gradient.setZero(m);
  for (Index b = 0; b < toy.batch(); ++b) {
    auto integrand = [&](const VectorXd& eps, VectorXd& value) {
      value(0) = log_mean_weight(toy, b, K, eps);
      for (Index i = 0; i < m; ++i) {
        double& theta = toy.coordinate(i);
        const double saved = theta;
        theta = saved + h;
        const double up = log_mean_weight(toy, b, K, eps);
        theta = saved - h;
        const double down = log_mean_weight(toy, b, K, eps);
        theta = saved;
        value(i + 1) = (up - down) / (2 * h);
      }
    };
    const VectorXd result = gauss_hermite_expectation_checked(int(K * toy.dims()), m + 1, integrand, check);
    out.value += result(0);
    out.gradient += result.tail(m);
  }
  return out;
}

// ---- the z-test -------------------------------------------------------------------------------

struct ZTest {
  double max_abs_z = 0;
  Index worst = -1;
  double threshold = 0;
  double min_standard_error = INFINITY;
  VectorXd mean;
  bool rejects() const { return !(max_abs_z <= threshold); }
};

// R draws of a gradient estimate (coordinates as LinearGaussianToy), Welford in double.
ZTest z_test(const std::function<VectorXd(Rng&)>& draw, const VectorXd& exact, int R, std::uint64_t test_id) {
  const Index m = exact.size();
  VectorXd mean = VectorXd::Zero(m), m2 = VectorXd::Zero(m);
  for (int i = 0; i < R; ++i) {
    Rng rng = Rng::stream(testing::seed(), {test_id, std::uint64_t(i)});
    const VectorXd g = draw(rng);
    const VectorXd delta = g - mean;
    mean += delta / double(i + 1);
    m2 += delta.cwiseProduct(g - mean);
  }
  ZTest t;
  t.threshold = bonferroni_z(kAlpha, std::size_t(m));
  t.mean = mean;
  for (Index j = 0; j < m; ++j) {
    const double se = std::sqrt(m2(j) / double(R - 1) / double(R));
    t.min_standard_error = std::min(t.min_standard_error, se);
    const double z = se > 0 ? std::abs(mean(j) - exact(j)) / se : (mean(j) == exact(j) ? 0.0 : INFINITY);
    if (z > t.max_abs_z || t.worst < 0) t.max_abs_z = z, t.worst = j;
  }
  return t;
}

VectorXd pack(const NodeGradient& grad, const LinearGaussianObjective& objective) {
  const Index B = grad.d_mean.rows(), d = grad.d_mean.cols();
  VectorXd g(2 * B * d + d + 1);
  for (Index b = 0; b < B; ++b)
    for (Index j = 0; j < d; ++j) {
      g(b * d + j) = grad.d_mean(b, j);
      g(B * d + b * d + j) = grad.d_log_var(b, j);
    }
  g.segment(2 * B * d, d) = objective.grad_a;
  g(2 * B * d + d) = objective.grad_c;
  return g;
}

// One estimate of `estimator` on the toy, packed as coordinates.
std::function<VectorXd(Rng&)> drawer(Estimator& estimator, const LinearGaussianToy& toy, LinearGaussianObjective& objective) {
  return [&estimator, &toy, &objective, node = toy.node()](Rng& rng) {
    NodeGradient grad;
    grad.reset_like(node);
    objective.reset_gradient();
    estimator.estimate(node, objective, rng, grad);
    return pack(grad, objective);
  };
}

std::unique_ptr<Estimator> make(std::string_view name, int samples) {
  EstimatorOptions options;
  options.samples = samples;
  std::string error;
  auto estimator = make_estimator(name, options, LatentKind::gaussian, &error);
  INFO(error);
  REQUIRE(estimator);
  return estimator;
}

std::string describe(const ZTest& t) {
  return "max |z| = " + std::to_string(t.max_abs_z) + " (min se " + std::to_string(t.min_standard_error) + ")"
          + " at coordinate " + std::to_string(t.worst) +
         ", Bonferroni threshold " + std::to_string(t.threshold);
}

// ---- biased variants, for power ---------------------------------------------------------------

// The ELBO gradient with K samples: uniform weights 1/K instead of wtilde, everywhere. Unbiased for
// the K = 1 bound, biased for the K-sample bound.
class IwaeAsElbo final : public Estimator {
 public:
  explicit IwaeAsElbo(int K) : Estimator([&] { EstimatorOptions o; o.samples = K; return o; }()) {}
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override {
    Matrix z, eps, dz;
    Vector f, weight;
    sample_node(node, options_.samples, rng, z, eps);
    objective.evaluate(0, z, f);
    weight.setConstant(z.rows(), Real(1) / Real(options_.samples));
    objective.backward(0, weight, &dz);
    accumulate_reparam(node, dz, eps, grad);
    grad.d_log_var.array() += Real(0.5);
  }
  static inline const EstimatorInfo kInfo{.name = "iwae-as-elbo (biased test variant)", .summary = "", .formula = "", .cost = "K"};
};

// iwae's encoder gradient but the decoder's weights uniform: biased in the decoder coordinates only.
class IwaeUniformDecoder final : public Estimator {
 public:
  explicit IwaeUniformDecoder(int K) : Estimator([&] { EstimatorOptions o; o.samples = K; return o; }()) {}
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override {
    ImportanceSamples s;
    draw_importance_samples("iwae-uniform-decoder", node, objective, options_.samples, rng, s);
    auto& toy_objective = static_cast<LinearGaussianObjective&>(objective);
    toy_objective.reset_gradient();
    const Vector uniform = Vector::Constant(s.z.rows(), Real(1) / Real(options_.samples));
    objective.backward(0, uniform, nullptr);
    accumulate_reparam(node, s.dz, s.eps, grad);
    grad.d_log_var.array() += Real(0.5);
  }
  static inline const EstimatorInfo kInfo{.name = "iwae-uniform-decoder (biased test variant)", .summary = "", .formula = "", .cost = "K"};
};

// ---- tests ------------------------------------------------------------------------------------

// Largest relative error of the toy objective's backward (weights 1) against central differences.
double objective_gradient_error(LinearGaussianToy toy, Objective::Terms terms, bool wrong) {
  constexpr double h = 1e-6;
  Matrix z(2 * toy.batch(), toy.dims());
  Rng rng = Rng::stream(testing::seed(), {stable_hash("objective fd")});
  rng.fill_normal(z);
  auto total = [&] {
    LinearGaussianObjective o(toy, terms);
    Vector v;
    o.evaluate(0, z, v);
    return double(v.sum());
  };
  LinearGaussianObjective objective(toy, terms);
  objective.wrong_backward = wrong;
  Vector value;
  Matrix dz;
  objective.evaluate(0, z, value);
  objective.backward(0, Vector::Ones(z.rows()), &dz);
  double worst = 0;
  auto check = [&](double analytic, double& variable) {
    const double saved = variable;
    variable = saved + h;
    const double up = total();
    variable = saved - h;
    const double down = total();
    variable = saved;
    const double numeric = (up - down) / (2 * h);
    worst = std::max(worst, std::abs(analytic - numeric) / std::max(1.0, std::abs(numeric)));
  };
  for (Index r = 0; r < z.rows(); ++r)
    for (Index j = 0; j < z.cols(); ++j) check(dz(r, j), z(r, j));
  for (Index j = 0; j < toy.dims(); ++j) check(objective.grad_a(j), toy.a(j));
  check(objective.grad_c, toy.c);
  return worst;
}

TEST_CASE("linear-Gaussian toy objective: backward matches finite differences, and the check catches a wrong one",
          "[gaussian-estimators]") {
  for (int dims : {1, 2})
    for (auto terms : {Objective::Terms::likelihood, Objective::Terms::joint}) {
      const LinearGaussianToy toy = make_toy(dims);
      CHECK(objective_gradient_error(toy, terms, false) < testing::tolerance::kFiniteDifference);
      CHECK(objective_gradient_error(toy, terms, true) > 0.1);
    }
}

TEST_CASE("Gauss-Hermite references: K = 1 bound equals its closed form; order check refuses too few nodes",
          "[gaussian-estimators]") {
  for (int dims : {1, 2}) {
    const LinearGaussianToy toy = make_toy(dims);
    const BoundReference reference = exact_bound(toy, 1);
    CHECK(std::abs(reference.value - exact_elbo_value(toy)) < testing::tolerance::kQuadrature);
    const VectorXd closed = exact_elbo_gradient(toy);
    CHECK((reference.gradient - closed).cwiseAbs().maxCoeff() < 1e-7);  // central differences, h = 1e-5
    // The closed-form gradient itself against central differences of the closed-form value.
    LinearGaussianToy moved = toy;
    for (Index i = 0; i < toy.coordinates(); ++i) {
      double& theta = moved.coordinate(i);
      const double saved = theta;
      theta = saved + 1e-6;
      const double up = exact_elbo_value(moved);
      theta = saved - 1e-6;
      const double down = exact_elbo_value(moved);
      theta = saved;
      CHECK(std::abs((up - down) / 2e-6 - closed(i)) < testing::tolerance::kFiniteDifference);
    }
  }
  // The convergence check refuses a rule too coarse for a non-polynomial integrand.
  auto rough = [](const VectorXd& eps, VectorXd& value) { value(0) = std::abs(eps(0)); };
  CHECK_THROWS_AS(gauss_hermite_expectation_checked(1, 1, rough, GaussHermiteCheck{.order = 4, .check_order = 6}),
                  std::runtime_error);
  // Polynomials of degree <= 2n - 1 per coordinate are exact: E[e1^2 e2^4] = 3.
  auto polynomial = [](const VectorXd& eps, VectorXd& value) { value(0) = eps(0) * eps(0) * std::pow(eps(1), 4); };
  CHECK(std::abs(gauss_hermite_expectation(2, 3, 1, polynomial)(0) - 3.0) < testing::tolerance::kQuadrature);
}

TEST_CASE("K-sample bound reference increases with K", "[gaussian-estimators]") {
  const LinearGaussianToy toy = make_toy(1, true);
  const double b1 = exact_bound(toy, 1).value, b2 = exact_bound(toy, 2).value, b3 = exact_bound(toy, 3).value;
  CHECK(b1 < b2);
  CHECK(b2 < b3);
}

TEST_CASE("importance-weighted estimators refuse a likelihood-only objective", "[gaussian-estimators]") {
  const LinearGaussianToy toy = make_toy(1);
  LinearGaussianObjective objective(toy, Objective::Terms::likelihood);
  const StochasticNode node = toy.node();
  for (std::string_view name : {"iwae", "stl", "dreg"}) {
    auto estimator = make(name, 2);
    NodeGradient grad;
    grad.reset_like(node);
    Rng rng(1);
    CHECK_THROWS_AS(estimator->estimate(node, objective, rng, grad), std::invalid_argument);
  }
}

TEST_CASE("iwae, stl and dreg are unbiased for the K = 1 bound (ELBO with sampled entropy)", "[unbiased][gaussian-estimators]") {
  for (int dims : {1, 2}) {
    const LinearGaussianToy toy = make_toy(dims);
    const VectorXd exact = exact_elbo_gradient(toy);
    LinearGaussianObjective objective(toy, Objective::Terms::joint);
    for (std::string_view name : {"iwae", "stl", "dreg"}) {
      auto estimator = make(name, 1);
      const ZTest t = z_test(drawer(*estimator, toy, objective), exact, kDraws, stable_hash(name) + dims);
      INFO(name << " d = " << dims << ": " << describe(t));
      CHECK_FALSE(t.rejects());
    }
  }
}

TEST_CASE("iwae and dreg are unbiased for the K-sample bound; stl (IWAE-STL) and wrong weightings are rejected",
          "[unbiased][gaussian-estimators]") {
  const LinearGaussianToy toy = make_toy(1, true);
  LinearGaussianObjective objective(toy, Objective::Terms::joint);
  for (int K : {2, 3}) {
    const BoundReference reference = exact_bound(toy, K);
    for (std::string_view name : {"iwae", "dreg"}) {
      auto estimator = make(name, K);
      const ZTest t = z_test(drawer(*estimator, toy, objective), reference.gradient, kDraws, stable_hash(name) + 10 * K);
      INFO(name << " K = " << K << ": " << describe(t));
      CHECK_FALSE(t.rejects());
      CHECK(t.min_standard_error > 100 * kBoundCheck.tolerance);  // the reference's error is negligible
    }
    // Power at the same R. stl is dreg with wtilde instead of wtilde^2 on the path term.
    auto stl = make("stl", K);
    IwaeAsElbo as_elbo(K);
    IwaeUniformDecoder uniform_decoder(K);
    for (Estimator* biased : std::initializer_list<Estimator*>{stl.get(), &as_elbo, &uniform_decoder}) {
      const ZTest t = z_test(drawer(*biased, toy, objective), reference.gradient, kDraws, stable_hash(biased->info().name) + 10 * K);
      INFO(biased->info().name << " K = " << K << ": " << describe(t));
      CHECK(t.rejects());
    }
  }
}

TEST_CASE("iwae and dreg are unbiased for the K = 2 bound at a general q; stl is rejected",
          "[unbiased][gaussian-estimators]") {
  // q's variances on both sides of the posterior's (0.31), log w quadratic in eps with coefficients
  // -0.49, -0.16, +0.18. (Much wider q, as in make_toy's data point 1, makes log mean w kink-like
  // along e1 = e2 and Gauss-Hermite converges only as ~n^-2.)
  LinearGaussianToy toy = make_toy(1);
  toy.log_var = MatrixD{{-0.5}, {-0.9}, {-1.6}};
  LinearGaussianObjective objective(toy, Objective::Terms::joint);
  const int K = 2;
  const BoundReference reference = exact_bound(toy, K, kGeneralBoundCheck);
  for (std::string_view name : {"iwae", "dreg"}) {
    auto estimator = make(name, K);
    const ZTest t = z_test(drawer(*estimator, toy, objective), reference.gradient, kDraws, stable_hash(name) + 100);
    INFO(name << " K = " << K << ": " << describe(t));
    CHECK_FALSE(t.rejects());
    CHECK(t.min_standard_error > 20 * kGeneralBoundCheck.tolerance);
  }
  auto stl = make("stl", K);
  IwaeAsElbo as_elbo(K);
  for (Estimator* biased : std::initializer_list<Estimator*>{stl.get(), &as_elbo}) {
    const ZTest t = z_test(drawer(*biased, toy, objective), reference.gradient, kDraws, stable_hash(biased->info().name) + 100);
    INFO(biased->info().name << " K = " << K << ": " << describe(t));
    CHECK(t.rejects());
  }
}

// ---- reinforce-nvil ----------------------------------------------------------------------------

// A Bernoulli node on the same objective: z in {0, 1}^k plugged into log p(x | z) = N(x; a.z + c, s^2).
MatrixD bernoulli_logits(int dims) {
  return dims == 1 ? MatrixD{{0.4}, {-1.1}, {0.9}} : MatrixD{{0.4, -0.6}, {-1.1, 0.3}, {0.9, 1.5}};
}

// Exact gradient of sum_b E_q[log p(x_b | z)] for the Bernoulli node by enumerating {0,1}^k;
// coordinates [logit(b, j) at b*k + j, a_j, c].
VectorXd exact_bernoulli_gradient(const LinearGaussianToy& toy, const MatrixD& logits) {
  const Index B = toy.batch(), k = logits.cols();
  VectorXd g = VectorXd::Zero(B * k + k + 1);
  for (Index b = 0; b < B; ++b)
    for (Index config = 0; config < (Index(1) << k); ++config) {
      VectorXd z(k);
      double q = 1;
      for (Index j = 0; j < k; ++j) {
        z(j) = double((config >> j) & 1);
        const double p = 1 / (1 + std::exp(-logits(b, j)));
        q *= z(j) > 0 ? p : 1 - p;
      }
      const double f = toy.log_likelihood(b, z), r = (toy.x(b) - toy.a.dot(z) - toy.c) / (toy.s * toy.s);
      for (Index j = 0; j < k; ++j) g(b * k + j) += q * f * (z(j) - 1 / (1 + std::exp(-logits(b, j))));
      g.segment(B * k, k) += q * r * z;
      g(B * k + k) += q * r;
    }
  return g;
}

std::function<VectorXd(Rng&)> bernoulli_drawer(Estimator& estimator, const MatrixD& logits, LinearGaussianObjective& objective) {
  StochasticNode node;
  node.family = &latent_family(LatentKind::bernoulli);
  node.logits = logits.cast<Real>();
  return [&estimator, &objective, node](Rng& rng) {
    NodeGradient grad;
    grad.reset_like(node);
    objective.reset_gradient();
    estimator.estimate(node, objective, rng, grad);
    const Index n = grad.d_logits.size(), B = grad.d_logits.rows(), k = grad.d_logits.cols();
    VectorXd g(n + objective.grad_a.size() + 1);
    for (Index b = 0; b < B; ++b)
      for (Index j = 0; j < k; ++j) g(b * k + j) = grad.d_logits(b, j);
    g.segment(n, objective.grad_a.size()) = objective.grad_a;
    g(g.size() - 1) = objective.grad_c;
    return g;
  };
}

// Trains the baseline for `steps` estimate/learn rounds at frozen model parameters; returns the
// explained-variance diagnostic of every round.
std::vector<double> train_baseline(Estimator& estimator, const StochasticNode& node, Objective& objective, int steps,
                                   std::uint64_t stream) {
  std::vector<double> explained;
  for (int i = 0; i < steps; ++i) {
    Rng rng = Rng::stream(testing::seed(), {stream, std::uint64_t(i)});
    NodeGradient grad;
    grad.reset_like(node);
    estimator.estimate(node, objective, rng, grad);
    explained.push_back(estimator.diagnostics().explained_variance);
    estimator.learn(rng);
  }
  return explained;
}

std::unique_ptr<Estimator> make_nvil(LatentKind kind, bool centre, bool normalise, double lr) {
  EstimatorOptions options;
  options.set(ReinforceNvil::kCentre, centre);
  options.set(ReinforceNvil::kNormalise, normalise);
  options.set(ReinforceNvil::kLr, lr);
  options.set(ReinforceNvil::kHidden, std::vector<int>{16});
  std::string error;
  auto estimator = make_estimator("reinforce-nvil", options, kind, &error);
  INFO(error);
  REQUIRE(estimator);
  return estimator;
}

TEST_CASE("reinforce-nvil is unbiased with a trained baseline, Gaussian and Bernoulli latents; self-baseline is rejected",
          "[unbiased][gaussian-estimators]") {
  const LinearGaussianToy toy = make_toy(2);
  LinearGaussianObjective objective(toy, Objective::Terms::likelihood);
  const VectorXd exact_gaussian = exact_likelihood_gradient(toy);
  const MatrixD logits = bernoulli_logits(2);
  const VectorXd exact_bernoulli = exact_bernoulli_gradient(toy, logits);
  StochasticNode bernoulli_node;
  bernoulli_node.family = &latent_family(LatentKind::bernoulli);
  bernoulli_node.logits = logits.cast<Real>();
  for (bool centre : {false, true})
    for (bool normalise : {false, true}) {
      auto gaussian = make_nvil(LatentKind::gaussian, centre, normalise, 1e-2);
      train_baseline(*gaussian, toy.node(), objective, 200, stable_hash("nvil train gaussian"));
      const ZTest tg = z_test(drawer(*gaussian, toy, objective), exact_gaussian, kDraws, stable_hash("nvil gaussian") + 2 * centre + normalise);
      INFO("gaussian, centre " << centre << ", normalise " << normalise << ": " << describe(tg));
      CHECK_FALSE(tg.rejects());
      auto bernoulli = make_nvil(LatentKind::bernoulli, centre, normalise, 1e-2);
      train_baseline(*bernoulli, bernoulli_node, objective, 200, stable_hash("nvil train bernoulli"));
      const ZTest tb = z_test(bernoulli_drawer(*bernoulli, logits, objective), exact_bernoulli, kDraws, stable_hash("nvil bernoulli") + 2 * centre + normalise);
      INFO("bernoulli, centre " << centre << ", normalise " << normalise << ": " << describe(tb));
      CHECK_FALSE(tb.rejects());
    }
  // Power at the same R: the baseline computed from the samples it multiplies (S = 2) halves E[g].
  EstimatorOptions options;
  options.samples = 2;
  std::string error;
  for (LatentKind kind : {LatentKind::gaussian, LatentKind::bernoulli}) {
    auto self = make_estimator("reinforce-self-baseline", options, kind, &error);
    REQUIRE(self);
    const ZTest t = kind == LatentKind::gaussian
                        ? z_test(drawer(*self, toy, objective), exact_gaussian, kDraws, stable_hash("self gaussian"))
                        : z_test(bernoulli_drawer(*self, logits, objective), exact_bernoulli, kDraws, stable_hash("self bernoulli"));
    INFO("reinforce-self-baseline, " << to_string(kind) << ": " << describe(t));
    CHECK(t.rejects());
  }
}

TEST_CASE("reinforce-nvil's baseline learns: the explained fraction of the signal's variance rises", "[gaussian-estimators]") {
  // Data points far apart and a narrow q: most of the learning signal's variance is between data
  // points, which only an input-dependent baseline can explain.
  LinearGaussianToy toy = make_toy(1);
  toy.x = VectorXd{{-4.0, 0.5, 5.0}};
  toy.log_var.setConstant(-3.0);
  LinearGaussianObjective objective(toy, Objective::Terms::likelihood);
  for (LatentKind kind : {LatentKind::gaussian, LatentKind::bernoulli}) {
    StochasticNode node = toy.node();
    if (kind == LatentKind::bernoulli) {
      node = StochasticNode{};
      node.family = &latent_family(LatentKind::bernoulli);
      node.logits = bernoulli_logits(1).cast<Real>();
    }
    auto nvil = make_nvil(kind, true, true, 1e-2);
    const std::vector<double> explained = train_baseline(*nvil, node, objective, 1000, stable_hash("nvil learns"));
    auto average = [&](int from, int to) {
      double sum = 0;
      for (int i = from; i < to; ++i) sum += explained[i];
      return sum / (to - from);
    };
    const double early = average(1, 21), late = average(900, 1000);
    INFO(to_string(kind) << ": explained variance, steps 1-20 " << early << ", steps 900-999 " << late);
    CHECK(late > 0.5);
    CHECK(late > early + 0.2);
    const EstimatorDiagnostics d = nvil->diagnostics();
    CHECK(std::isfinite(d.baseline_loss));
    CHECK(d.baseline_loss >= 0);
  }
}

}  // namespace
}  // namespace gradest
