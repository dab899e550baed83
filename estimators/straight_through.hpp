#pragma once
// straight-through: hard Bernoulli sample forward, gradient through the sigmoid probability
// (Bengio, Leonard and Courville 2013).
//
// Target:   E_q[f(z)], BIASED for the node's gradient: it uses df/dz at the hard sample as if
//           z = sigmoid(theta) were continuous. The objective-parameter gradient is taken at hard
//           samples z ~ q and is unbiased.
// Formula:  z_s = 1[u_s < sigmoid(theta)],  g = (1/S) sum_s df/dz(z_s) * sigmoid(theta) (1 - sigmoid(theta))
// Latents:  Bernoulli only; needs df/dz (Objective::differentiable_in_z; throws std::invalid_argument otherwise).
// Cost:     S samples, S objective evaluations (and S backward passes) per data point.
// Options:  samples S (default 1).
#include "estimators/estimator.hpp"

namespace gradest {

class StraightThrough final : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  explicit StraightThrough(EstimatorOptions options) : Estimator(std::move(options)) {}
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override;

 private:
  Matrix z_, noise_, dz_;
  Vector value_, weight_;
};

}  // namespace gradest
