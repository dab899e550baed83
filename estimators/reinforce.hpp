#pragma once
// reinforce: the score-function estimator (Williams 1992; Glynn 1990), no baseline.
//
// Target:   E_q[f(z)] (the ELBO with analytic KL); unbiased.
// Formula:  g = (1/S) sum_s f(z_s) * d log q(z_s)/d theta,  z_s ~ q
// Latents:  Gaussian, Bernoulli and categorical; f need not be differentiable.
// Cost:     S samples, S objective evaluations per data point.
// Options:  samples S (default 1).
#include "estimators/monte_carlo.hpp"

namespace gradest {

class Reinforce final : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  explicit Reinforce(EstimatorOptions options) : Estimator(std::move(options)) {}
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override;

 private:
  ScoreSamples samples_;
};

}  // namespace gradest
