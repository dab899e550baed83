#include "estimators/reinforce_self_baseline.hpp"

#include "models/distributions.hpp"

namespace gradest {

const EstimatorInfo ReinforceSelfBaseline::kInfo{
    .name = "reinforce-self-baseline",
    .summary = "DELIBERATELY BIASED score function (baseline includes its own sample): power-test reference",
    .formula = "(1/S) sum_s (f(z_s) - mean_j f(z_j)) dlog q(z_s)/dtheta",
    .target = Target::expectation,
    .unbiased = false,
    .families = {LatentKind::gaussian, LatentKind::bernoulli, LatentKind::categorical},
    .needs_dz = false,
    .min_samples = 2,
    .cost = "S",
};

void ReinforceSelfBaseline::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  const int S = options_.samples;
  ScoreSamples& s = samples_;
  s.draw(node, objective, S, rng);
  s.centre_per_point(node.batch(), S);
  accumulate_score(node, s.z, s.weight, grad);
}

}  // namespace gradest
