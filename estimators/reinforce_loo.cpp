#include "estimators/reinforce_loo.hpp"

#include "models/distributions.hpp"

namespace gradest {

const EstimatorInfo ReinforceLOO::kInfo{
    .name = "reinforce-loo",
    .summary = "score function, leave-one-out baseline over S >= 2 samples (Kool et al. 2019)",
    .formula = "(1/(S-1)) sum_s (f(z_s) - mean_j f(z_j)) dlog q(z_s)/dtheta",
    .target = Target::expectation,
    .unbiased = true,
    .families = {LatentKind::gaussian, LatentKind::bernoulli, LatentKind::categorical},
    .needs_dz = false,
    .min_samples = 2,
    .cost = "S",
};

void ReinforceLOO::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  const int S = options_.samples;
  ScoreSamples& s = samples_;
  s.draw(node, objective, S, rng);
  s.centre_per_point(node.batch(), S - 1);
  accumulate_score(node, s.z, s.weight, grad);
}

}  // namespace gradest
