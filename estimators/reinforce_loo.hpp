#pragma once
// reinforce-loo: score function with the leave-one-out baseline over S >= 2 samples
// (Mnih and Rezende 2016; Kool, van Hoof and Welling 2019, "Buy 4 REINFORCE samples, get a baseline for free").
//
// Target:   E_q[f(z)] (the ELBO with analytic KL); UNBIASED: sample s's baseline uses only the other
//           samples, which are independent of z_s.
// Formula:  g = (1/S) sum_s (f(z_s) - (1/(S-1)) sum_{j != s} f(z_j)) * d log q(z_s)/d theta
//             = (1/(S-1)) sum_s (f(z_s) - mean_j f(z_j)) * d log q(z_s)/d theta,   z_s ~ q iid.
// Latents:  Gaussian, Bernoulli and categorical; f need not be differentiable.
// Cost:     S samples, S objective evaluations per data point; S >= 2.
// Options:  samples S (default 1, so give S >= 2).
#include "estimators/monte_carlo.hpp"

namespace gradest {

class ReinforceLOO final : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  explicit ReinforceLOO(EstimatorOptions options) : Estimator(std::move(options)) {}
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override;

 private:
  ScoreSamples samples_;
};

}  // namespace gradest
