#pragma once
// indecater: the IndeCateR estimator, Rao-Blackwellised per latent dimension (De Smet, Sansone and
// Zuidberg Dos Martires, "Differentiable sampling of categorical distributions using the
// CatLog-derivative trick", NeurIPS 2023).
//
// Target:   E_q[f(z)] for k independent latents with C values each (q = prod_i q_i), UNBIASED:
//           d/dtheta E_q[f] = sum_i E_{z_-i}[ sum_c (d q_i(c)/dtheta) f(z_-i, z_i = c) ], and each
//           sample z_s ~ q supplies z_-i for every i.
// Formula:  g = (1/S) sum_s sum_i sum_c (d q_i(c | theta)/d theta) f(z_s,-i, z_i = c),  z_s ~ q;
//           logits (categorical): g_ic = (1/S) sum_s q_ic (f_sic - sum_c' q_ic' f_sic');
//           Bernoulli (C = 2): g_i = (1/S) sum_s sigma'(theta_i) (f(z_s,-i, 1) - f(z_s,-i, 0)).
//           The objective's own parameters get the Rao-Blackwellised gradient of the same
//           evaluations, (1/(S k)) sum_s sum_i sum_c q_i(c) grad_theta f(z_s,-i, z_i = c) (unbiased:
//           for each i, E_{z_-i} sum_c q_i(c) grad f = E_q grad f).
// Latents:  categorical, Bernoulli (any family that answers one latent at a time:
//           models/latent_family.hpp value_log_probs, set_value, add_value_expectation_gradient).
// Cost:     S samples; S*k*C objective evaluations (one batched evaluation and one backward pass
//           over S*k*C*B rows) per data point, k latents with C values (Bernoulli: C = 2). For the
//           20 x 10 categorical VAE: 200 S evaluations per data point.
// Options:  samples S (default 1).
#include "estimators/estimator.hpp"

namespace gradest {

class IndeCateR final : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  explicit IndeCateR(EstimatorOptions options) : Estimator(std::move(options)) {}
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override;

 private:
  Matrix z_, noise_, neighbours_;
  MatrixD log_q_;
  Vector value_, weight_;
};

}  // namespace gradest
