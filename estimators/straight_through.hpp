#pragma once
// straight-through: hard sample forward, gradient through the probabilities (Bengio, Leonard and
// Courville 2013): the backward pass treats z as if it were E_q[z] (sigmoid(theta) for Bernoulli
// latents, softmax(theta_j) for each categorical latent).
//
// Target:   E_q[f(z)], BIASED for the node's gradient: it uses df/dz at the hard sample as if
//           z = E_q[z] were continuous. The objective-parameter gradient is taken at hard
//           samples z ~ q and is unbiased.
// Formula:  z_s ~ q,  Bernoulli:   g = (1/S) sum_s df/dz(z_s) * sigmoid(theta) (1 - sigmoid(theta))
//                     categorical: g_jc = (1/S) sum_s q_jc (df/dz_sjc - sum_c' df/dz_sjc' q_jc')
// Latents:  Bernoulli, categorical; needs df/dz (Objective::differentiable_in_z; throws
//           std::invalid_argument otherwise).
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
