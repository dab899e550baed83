#pragma once
// The linear-Gaussian latent model shared by tests/f64_gaussian_estimators.cpp (iwae, stl, dreg) and
// tests/f64_gaussian_nvil.cpp (reinforce-nvil), its objective, the exact gradient of its ELBO's
// likelihood part, and the unbiasedness z-test.
//
// The toy: B data points x_b (scalar), d latent dimensions,
//   p(z) = N(0, I),  p(x | z) = N(x; a.z + c, s^2),  decoder parameters (a, c) learnable, s fixed,
//   q(z | x_b) = N(mean_b, diag exp(log_var_b)), the node's parameters given directly.
// Unbiasedness: R independent estimates, per-coordinate z = (mean - exact) / (sd / sqrt R) over the
// encoder node gradient (mean, log_var of every data point) AND the decoder gradient (a, c); the
// test fails when max |z| exceeds the two-sided Bonferroni threshold for family-wise level kAlpha.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numbers>
#include <string>

#include "estimators/estimator.hpp"
#include "models/latent_family.hpp"
#include "models/distributions.hpp"
#include "models/rng.hpp"
#include "models/stochastic.hpp"
#include "tests/support.hpp"

namespace gradest::testing::gaussian_toys {

using Eigen::VectorXd;

inline constexpr double kAlpha = 1e-4;  // family-wise level of every unbiasedness test of both files
inline constexpr int kDraws = 20000;    // R, the estimates per z-test
inline const double kLog2Pi = std::log(2 * std::numbers::pi);

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
inline LinearGaussianToy make_toy(int dims, bool matched_variance = false) {
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

  void backward(int slot, const Vector& weight, Matrix* grad_z) override { backward(slot, weight, grad_z, true); }
  void gradient_in_z(int slot, const Vector& weight, Matrix& grad_z) override { backward(slot, weight, &grad_z, false); }
  void backward(int slot, const Vector& weight, Matrix* grad_z, bool parameters_too) {
    const Matrix& z = z_[slot];
    const Index d = toy_.dims();
    if (grad_z) grad_z->resize(z.rows(), d);
    for (Index r = 0; r < z.rows(); ++r) {
      const VectorXd zr = z.row(r).transpose().cast<double>();
      const double residual = (toy_.x(r % batch()) - toy_.a.dot(zr) - toy_.c) / (toy_.s * toy_.s);
      if (parameters_too) {
        grad_a += double(weight(r)) * residual * zr;
        grad_c += double(weight(r)) * residual * (wrong_backward ? -1.0 : 1.0);
      }
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
inline VectorXd exact_likelihood_gradient(const LinearGaussianToy& toy) {
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
inline ZTest z_test(const std::function<VectorXd(Rng&)>& draw, const VectorXd& exact, int R, std::uint64_t test_id) {
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

inline VectorXd pack(const NodeGradient& grad, const LinearGaussianObjective& objective) {
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
inline std::function<VectorXd(Rng&)> drawer(Estimator& estimator, const LinearGaussianToy& toy, LinearGaussianObjective& objective) {
  return [&estimator, &toy, &objective, node = toy.node()](Rng& rng) {
    NodeGradient grad;
    grad.reset_like(node);
    objective.reset_gradient();
    estimator.estimate(node, objective, rng, grad);
    return pack(grad, objective);
  };
}

inline std::string describe(const ZTest& t) {
  return "max |z| = " + std::to_string(t.max_abs_z) + " (min se " + std::to_string(t.min_standard_error) + ")"
          + " at coordinate " + std::to_string(t.worst) +
         ", Bonferroni threshold " + std::to_string(t.threshold);
}

}  // namespace gradest::testing::gaussian_toys
