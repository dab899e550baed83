#pragma once
// The Bernoulli toy of REBAR (Tucker et al. 2017) and RELAX (Grathwohl et al. 2018):
//   q_theta(b) = prod_j Bern(b_j; sigmoid(theta_j)),   f(b) = sum_j (b_j - t)^2,
// the estimators target d/dtheta_j E_q[f] = sigmoid'(theta_j) ((1 - t)^2 - t^2), which is tiny for
// t near 1/2 (t = 0.45: 0.0235 at theta = 0.5; t = 0.499: 4.7e-4), so the estimators' variance decides
// whether training finds the minimiser b = 0 (E f is minimised by theta -> -infinity when t < 1/2).
//
// As an Objective (Terms::toy, differentiable in z so relaxations apply): f(z_r) = sum_j (z_rj - t)^2
// for every row r of a sample matrix and any batch B >= 1 (the batch only sets batch(); the toy has
// no data and no parameters); df/dz = 2 (z - t).
//
// Exact moments (mean and variance of ONE estimate of d/dtheta for the 1-d toy, k = 1, with S
// samples or S pairs), computed from each estimator's formula independently of estimators/:
// by enumeration over the estimator's discrete samples, or by Gauss-Legendre / Gauss-Kronrod
// quadrature (Boost.Math) over its uniform noise. Any S: the score-function forms enumerate the 2^S
// sample configurations for S <= 20 (NaN beyond); pairs and relaxations are iid, variance / S.
#include <functional>
#include <vector>

#include "models/stochastic.hpp"

namespace gradest {

class ToyBernoulli final : public Objective {
 public:
  explicit ToyBernoulli(double t, Index batch = 1) : t_(t), batch_(batch) {}
  Terms terms() const override { return Terms::toy; }
  Index batch() const override { return batch_; }
  bool differentiable_in_z() const override { return true; }
  // grad_z = weight_r * 2 (z_r - t).
  void backward(int slot, const Vector& weight, Matrix* grad_z) override;
  // The toy has no parameters: the same as backward.
  void gradient_in_z(int slot, const Vector& weight, Matrix& grad_z) override { backward(slot, weight, &grad_z); }
  // hv = weight_r * 2 v_r (f's Hessian is 2 I).
  bool hessian_vector_in_z(int slot, const Vector& weight, const Matrix& v, Matrix& hv) override;

  double t() const { return t_; }
  // f of one coordinate at b (b in {0, 1}, or relaxed in [0, 1]).
  double f(double b) const { return (b - t_) * (b - t_); }
  // E_q[(b - t)^2] for one coordinate with logit theta: the training loss per coordinate.
  double expected_value(double theta) const;
  // d/dtheta of expected_value: sigmoid'(theta) ((1 - t)^2 - t^2).
  double exact_gradient(double theta) const;

 protected:
  void do_evaluate(int slot, const Matrix& z, Vector& value) override;

 private:
  double t_;
  Index batch_;
  Matrix z_[kSlots];
};

// Mean and variance of one estimate; NaN where not computed.
struct ToyMoments {
  double mean;
  double variance;
};

namespace toy_bernoulli {
// (1/S) sum_s (f(b_s) - c) (b_s - p): score function with a constant baseline c (c = 0: reinforce).
ToyMoments score_function(const ToyBernoulli& toy, double theta, int samples, double baseline);
// (1/(S-1)) sum_s (f(b_s) - mean f) (b_s - p): leave-one-out baseline, S >= 2.
ToyMoments leave_one_out(const ToyBernoulli& toy, double theta, int samples);
// (1/S) sum_s (f(b_s) - mean f) (b_s - p): the deliberately biased self-including baseline, S >= 2.
ToyMoments self_baseline(const ToyBernoulli& toy, double theta, int samples);
// ARM: (f(1[u > 1-p]) - f(1[u < p])) (u - 1/2), mean of S pairs; Gauss-Legendre on the pieces of u.
ToyMoments arm(const ToyBernoulli& toy, double theta, int pairs);
// DisARM: 1/2 (f(b) - f(b~)) (-1)^b~ 1[b != b~] sigmoid(|theta|), b = 1[u < p], b~ = 1[1-u < p], mean of S pairs.
ToyMoments disarm(const ToyBernoulli& toy, double theta, int pairs);
// ARMS (Dimitriev & Zhou 2021): c/(K-1) sum_k (f(b_k) - mean f) (b_k - p) over K samples from the Dirichlet
// copula (b_k = 1[(1 - D_k)^{K-1} < p] for p < 1/2, 1[(1 - D_k)^{K-1} > 1 - p] otherwise, D ~ Dir(1,...,1)),
// c = p(1-p) / (p - P(b_1 = b_2 = 1)). For one coordinate the estimate is c n(K-n)/(K(K-1)) (f(1) - f(0)),
// n the number of ones; P(n) in closed form by inclusion-exclusion over the uniform simplex,
// P(D_1 > a, ..., D_i > a) = (1 - i a)_+^{K-1}, and c from P(b_1 = 1, b_2 = 0) = E[n(K-n)]/(K(K-1)).
// 2 <= K <= 20 (NaN otherwise).
ToyMoments arms(const ToyBernoulli& toy, double theta, int samples);
// P(n of the K copula samples are 1), n = 0..K, for logit theta (the distribution arms() uses).
std::vector<double> arms_count_distribution(double theta, int samples);
// Binary Concrete: 2 (z - t) z (1-z) / tau, z = sigmoid((theta + logit u)/tau); Gauss-Kronrod over u.
ToyMoments gumbel_softmax(const ToyBernoulli& toy, double theta, int samples, double temperature);
// REBAR at temperature lambda and scale eta: [f(b) - eta f(s~)] (b - p) + eta df(s)/dtheta - eta df(s~)/dtheta
// (estimators/rebar.hpp), mean of S independent draws; Gauss-Kronrod over the hard sample's and the
// conditional relaxation's uniforms, given b.
ToyMoments rebar(const ToyBernoulli& toy, double theta, int samples, double temperature, double scale);
// A learned surrogate's part r(z) of relax's control variate, on the latent logit z, and its slope r'(z).
struct ToySurrogate {
  std::function<double(double)> value, slope;
};
// RELAX with surrogate c(z) = eta f(sigmoid(z/lambda)) + r(z) (estimators/relax.hpp):
// [f(b) - c(z~)] (b - p) + dc(z)/dtheta - dc(z~)/dtheta, i.e. rebar's estimate plus
// -r(z~) (b - p) + r'(z) - r'(z~) dz~/dtheta; mean of S independent draws, by the same quadrature as rebar.
ToyMoments relax(const ToyBernoulli& toy, double theta, int samples, double temperature, double scale,
                 const ToySurrogate& surrogate);
// Straight-through: 2 (b - t) p (1 - p), b ~ Bern(p).
ToyMoments straight_through(const ToyBernoulli& toy, double theta, int samples);
// Double control variates (Titsias & Shi 2022), alpha = 1, S >= 2: with g_s = f'(b_s) = 2 (b_s - t),
// g^ = mean_s g_s, g^_{-s} = mean_{i != s} g_i and a_s = f(b_s) - g^_{-s} (b_s - p),
// (1/(S-1)) sum_s (a_s - mean a) (b_s - p) + g^ p (1 - p), by enumerating the 2^S configurations;
// correction = false drops the last term (the biased variant the tests must reject).
ToyMoments double_cv(const ToyBernoulli& toy, double theta, int samples, double alpha = 1, bool correction = true);
}  // namespace toy_bernoulli

}  // namespace gradest
