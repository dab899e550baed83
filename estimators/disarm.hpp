#pragma once
// disarm: ARM with the uniform noise integrated out given the antithetic pair (Dong, Mnih and
// Tucker 2020, "DisARM: an antithetic gradient estimator for binary latent variables").
//
// Target:   E_q[f(z)] (the ELBO with analytic KL), q = prod_j Bern(sigmoid(theta_j)); UNBIASED.
// Formula:  u ~ U(0,1)^k,  b = 1[u < sigmoid(theta)],  b~ = 1[1 - u < sigmoid(theta)]  (both ~ q),
//           g_j = (1/2) (f(b) - f(b~)) * (-1)^{b~_j} * 1[b_j != b~_j] * sigmoid(|theta_j|);
//           averaged over S independent pairs. Objective parameters: (1/(2S)) sum of grad f over the 2S
//           evaluations. Var(disarm) <= Var(arm) coordinate-wise (the paper's theorem).
// Latents:  Bernoulli only; f need not be differentiable.
// Cost:     S pairs, 2S objective evaluations per data point.
// Options:  samples S = number of pairs (default 1).
#include "estimators/estimator.hpp"

namespace gradest {

class Disarm final : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  explicit Disarm(EstimatorOptions options) : Estimator(std::move(options)) {}
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override;

 private:
  Matrix u_, z_;
  Vector value_, weight_;
};

}  // namespace gradest
