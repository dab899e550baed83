#pragma once
// reinforce-self-baseline: a DELIBERATELY BIASED score-function estimator, kept as the reference
// the unbiasedness suite must reject (its power test) and that `gradest check-unbiased` must fail.
// Do not train with it.
//
// Target:   E_q[f(z)], BIASED: the baseline includes the sample it multiplies, so
//           E[g] = ((S-1)/S) * grad E_q[f]  (shrunk towards zero by 1/S).
// Formula:  g = (1/S) sum_s (f(z_s) - (1/S) sum_j f(z_j)) * d log q(z_s)/d theta
// Latents:  Gaussian, Bernoulli and categorical.
// Cost:     S samples, S objective evaluations per data point; S >= 2.
// Options:  samples S.
#include "estimators/monte_carlo.hpp"

namespace gradest {

class ReinforceSelfBaseline final : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  explicit ReinforceSelfBaseline(EstimatorOptions options) : Estimator(std::move(options)) {}
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override;

 private:
  ScoreSamples samples_;
};

}  // namespace gradest
