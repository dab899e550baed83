#pragma once
// arm: the Augment-REINFORCE-Merge estimator for Bernoulli latents (Yin and Zhou 2019).
//
// Target:   E_q[f(z)] (the ELBO with analytic KL), q = prod_j Bern(sigmoid(theta_j)); UNBIASED.
// Formula:  u ~ U(0,1)^k,  z+ = 1[u > sigmoid(-theta)],  z- = 1[u < sigmoid(theta)]  (both ~ q),
//           g = (f(z+) - f(z-)) * (u - 1/2)   per coordinate; averaged over S independent pairs.
//           Objective parameters: (1/(2S)) sum over the 2S evaluations of grad f (each z is ~ q).
// Latents:  Bernoulli only; f need not be differentiable.
// Cost:     S pairs, 2S objective evaluations per data point.
// Options:  samples S = number of pairs (default 1).
#include "estimators/estimator.hpp"

namespace gradest {

class Arm final : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  explicit Arm(EstimatorOptions options) : Estimator(std::move(options)) {}
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override;

 private:
  Matrix u_, z_;
  Vector value_, weight_;
};

}  // namespace gradest
