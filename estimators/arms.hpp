#pragma once
// arms: Antithetic-REINFORCE-Multi-Sample, K jointly antithetic samples with a leave-one-out baseline
// (Dimitriev and Zhou 2021, "ARMS: Antithetic-REINFORCE-Multi-Sample Gradient for Binary Variables",
// ICML; reference code github.com/alekdimi/arms, networks.py, grad_type 'arms').
//
// Target:   E_q[f(z)] (the ELBO with analytic KL), q = prod_j Bern(p_j), p_j = sigmoid(theta_j); UNBIASED.
// Noise:    per data point and latent j, independently: D ~ Dirichlet(1, ..., 1) on K coordinates
//           (D_k = E_k / sum E, E_k ~ Exp(1)), U_k = (1 - D_k)^{K-1} ~ U(0,1) (the Dirichlet copula:
//           negatively correlated uniforms); b_kj = 1[U_k < p] if p < 1/2, 1[U_k > 1 - p] otherwise
//           (the paper's u = 1 - U for p >= 1/2). Each b_k ~ q marginally; the K are exchangeable.
// Formula:  g_j = c_j / (K - 1) * sum_k (f(b_k) - mean_i f(b_i)) (b_kj - p_j),
//           c_j = p(1-p) / (p - P(b_ij = b_kj = 1))   (i != k; corrects for the samples' correlation:
//           E[(b_kj - p) f(b_i)] = Cov(b_kj, b_ij) E[df/db_j] is not zero as it is for iid samples).
//           With q = min(p, 1 - p), m = K - 1: p - P(b_i = b_k = 1) = q - (2 q^{1/m} - 1)_+^m for both
//           halves, so c = max(p, 1-p) / (1 - (2 - q^{-1/m})_+^m): the subtracted term lies in
//           [0, (2 - 2^{1/m})^m] <= 1/2, no cancellation at any logit; for q <= 2^{-m} it is 0 and
//           c = sigmoid(|theta|). K = 2 is DisARM with one pair: c = sigmoid(|theta|), U_2 = 1 - U_1.
//           Objective parameters: (1/K) sum of grad f over the K evaluations (every b_k ~ q).
// Latents:  Bernoulli only; f need not be differentiable.
// Cost:     K objective evaluations per data point; K >= 2.
// Options:  samples K (K >= 2; fewer is refused).
#include "estimators/estimator.hpp"

namespace gradest {

class Arms final : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  explicit Arms(EstimatorOptions options) : Estimator(std::move(options)) {}
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override;

 private:
  Matrix z_;
  Vector value_, weight_;
};

namespace arms {
// c(theta, K) above, the debiasing factor; finite and in [sigmoid(|theta|), 2] for every theta and K >= 2.
double debias_factor(double theta, int samples);
// K * B x k samples (sample-major, row s*B + b) from the Dirichlet copula above.
void draw_copula_samples(const StochasticNode& node, int samples, Rng& rng, Matrix& z);
// Adds g (the formula above) to grad.d_logits, given the K * B x k samples z and value_r = f(z_r).
void accumulate(const StochasticNode& node, int samples, const Matrix& z, const Vector& value, NodeGradient& grad);
}  // namespace arms

}  // namespace gradest
