#include "estimators/reinforce.hpp"

#include "models/distributions.hpp"

namespace gradest {

const EstimatorInfo Reinforce::kInfo{
    .name = "reinforce",
    .summary = "score function / REINFORCE, no baseline (Williams 1992)",
    .formula = "(1/S) sum_s f(z_s) dlog q(z_s)/dtheta",
    .target = Target::expectation,
    .unbiased = true,
    .families = {LatentKind::gaussian, LatentKind::bernoulli, LatentKind::categorical},
    .needs_dz = false,
    .min_samples = 1,
    .cost = "S",
};

void Reinforce::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  const int S = options_.samples;
  ScoreSamples& s = samples_;
  s.draw(node, objective, S, rng);
  s.weight = s.value * (Real(1) / Real(S));
  accumulate_score(node, s.z, s.weight, grad);
}

}  // namespace gradest
