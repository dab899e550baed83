#pragma once
// exact: the exact gradient by enumerating all C^k latent configurations (models/enumerate.hpp;
// C = 2 for Bernoulli latents), a reference for small models. Zero variance.
//
// Target:   E_q[f(z)] (the ELBO with analytic KL); exact (unbiased, no noise).
// Formula:  d/dlogits = sum_z q(z) f(z) d log q(z)/dlogits (Bernoulli: z - sigmoid(logits));  objective parameters:
//           sum_z q(z) grad f(z) (Objective::backward with weights q(z)).
// Latents:  enumerable families (Bernoulli, categorical), C^k <= 2^16 (estimate() throws
//           std::invalid_argument otherwise).
// Cost:     C^k objective evaluations per data point; draws no random numbers.
// Options:  none (samples is ignored).
#include "estimators/estimator.hpp"

namespace gradest {

class Exact final : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  explicit Exact(EstimatorOptions options) : Estimator(std::move(options)) {}
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override;
};

}  // namespace gradest
