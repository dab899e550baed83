// Importance-weighted and pathwise estimators (iwae, stl, dreg) against exact gradients of the
// linear-Gaussian latent model (tests/gaussian_toys.hpp); reinforce-nvil on the same model:
// tests/f64_gaussian_nvil.cpp.
//
// Exact references:
//   - the ELBO's likelihood part, sum_b E_q[log p(x_b | z)], and its gradient in closed form;
//   - the K-sample bound sum_b E[log (1/K) sum_k w_k] and its gradient by tensor-product
//     Gauss-Hermite quadrature over the K*d standard normals of the reparameterisation
//     (models/quadrature_gh.hpp, converged between orders 24 and 32), the gradient as central
//     differences of the integrand (so the reference never uses an estimator's derivative formula);
//     at K = 1 it is also checked against its closed form.
// Unbiasedness: the z-test of tests/gaussian_toys.hpp at family-wise level kAlpha.
// Power: the same test at the same R rejects biased variants.
// Also: the toy objective's backward against central differences.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <numbers>
#include <string>

#include "estimators/estimator.hpp"
#include "estimators/importance_weights.hpp"
#include "models/latent_family.hpp"
#include "models/distributions.hpp"
#include "models/quadrature_gh.hpp"
#include "tests/gaussian_toys.hpp"
#include "tests/support.hpp"

namespace gradest {
namespace {

using namespace testing::gaussian_toys;

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

std::unique_ptr<Estimator> make(std::string_view name, int samples) {
  EstimatorOptions options;
  options.samples = samples;
  std::string error;
  auto estimator = make_estimator(name, options, LatentKind::gaussian, &error);
  INFO(error);
  REQUIRE(estimator);
  return estimator;
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

}  // namespace
}  // namespace gradest
