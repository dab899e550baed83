#pragma once
// gumbel-softmax: the Concrete relaxation (Maddison, Mnih and Teh 2017; Jang, Gu and Poole 2017),
// pathwise through the relaxed sample; binary Concrete on Bernoulli latents, Gumbel-softmax on
// categorical latents (the relaxation is the family's: models/latent_family.hpp).
//
// Target:   E_q[f(z)], BIASED: f is evaluated at relaxed z~ (in (0, 1), or in the interior of each
//           latent's simplex), not at a discrete sample, so the estimate is unbiased for the gradient
//           of E[f(z~)], which tends to E_q[f(z)] only as the temperature tends to 0 (while the
//           variance grows). The objective-parameter gradient is likewise taken at z~ (biased).
// Formula:  Bernoulli:   u ~ U(0,1),  z~ = sigmoid((theta + log u - log(1 - u)) / tau),
//                        g = (1/S) sum_s df/dz(z~_s) * z~_s (1 - z~_s) / tau
//           categorical: g_jc = -log(-log u_jc),  z~_j = softmax((theta_j + g_j) / tau),
//                        g = (1/S) sum_s z~_sjc (df/dz~_sjc - sum_c' df/dz~_sjc' z~_sjc') / tau
// Latents:  Bernoulli, categorical; needs df/dz (Objective::differentiable_in_z; throws
//           std::invalid_argument otherwise).
// Cost:     S samples, S objective evaluations (and S backward passes) per data point.
// Options:  samples S (default 1); temperature tau (kTemperature: default 1, > 0).
#include "estimators/estimator.hpp"

namespace gradest {

class GumbelSoftmax final : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  static constexpr OptionSpec kTemperature{.name = "temperature",
                                           .type = OptionType::real,
                                           .default_text = "1",
                                           .min = 0,
                                           .min_open = true,
                                           .help = "relaxation temperature tau (lower: less bias, more variance)"};
  static constexpr OptionSpec kOptions[] = {kTemperature};
  explicit GumbelSoftmax(EstimatorOptions options) : Estimator(std::move(options)) {}
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override;

 private:
  Matrix u_, z_, dz_;
  Vector value_, weight_;
};

}  // namespace gradest
