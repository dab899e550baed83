#pragma once
// straight-through-gumbel: the straight-through Gumbel-softmax estimator (Jang, Gu and Poole 2017,
// section 2.2): the discrete sample the relaxed one rounds to goes forward, the gradient flows
// back through the relaxed sample (models/latent_family.hpp: relaxed_sample, harden,
// accumulate_relaxed).
//
// Target:   E_q[f(z)], BIASED for the node's gradient: df/dz is taken at the hard sample z_s and
//           multiplied by the relaxed sample's Jacobian dz~_s/dtheta as if z_s were z~_s. The hard
//           sample is exactly distributed as q (Gumbel-max: argmax(theta + g) ~ softmax(theta);
//           Bernoulli: 1[z~ > 1/2] = 1[1 - u < sigmoid(theta)]), so the objective-parameter gradient
//           (plain Monte Carlo at z_s) is unbiased.
// Formula:  z~_s = relax(theta, noise_s; tau),  z_s = harden(z~_s),
//           Bernoulli:   g = (1/S) sum_s df/dz(z_s) z~_s (1 - z~_s) / tau
//           categorical: g_jc = (1/S) sum_s z~_sjc (df/dz_sjc - sum_c' df/dz_sjc' z~_sjc') / tau
// Latents:  Bernoulli, categorical; needs df/dz (Objective::differentiable_in_z; throws
//           std::invalid_argument otherwise).
// Cost:     S samples, S objective evaluations (and S backward passes) per data point.
// Options:  samples S (default 1); temperature tau (gumbel-softmax's option, the same declaration:
//           default 1, > 0).
#include "estimators/estimator.hpp"
#include "estimators/gumbel_softmax.hpp"

namespace gradest {

class StraightThroughGumbel final : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  static constexpr OptionSpec kOptions[] = {GumbelSoftmax::kTemperature};
  explicit StraightThroughGumbel(EstimatorOptions options) : Estimator(std::move(options)) {}
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override;

 private:
  Matrix u_, relaxed_, z_, dz_;
  Vector value_, weight_;
};

}  // namespace gradest
