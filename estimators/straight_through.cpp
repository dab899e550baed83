#include "estimators/straight_through.hpp"

#include <stdexcept>

#include "estimators/monte_carlo.hpp"
#include "models/distributions.hpp"
#include "models/latent_family.hpp"

namespace gradest {

const EstimatorInfo StraightThrough::kInfo{
    .name = "straight-through",
    .summary = "hard sample forward, gradient through E_q[z] (Bengio et al. 2013); BIASED",
    .formula = "(1/S) sum_s df/dz(z_s) dE_q[z]/dth, z_s ~ q",
    .target = Target::expectation,
    .unbiased = false,
    .families = {LatentKind::bernoulli, LatentKind::categorical},
    .needs_dz = true,
    .min_samples = 1,
    .cost = "S",
};

void StraightThrough::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  if (!objective.differentiable_in_z())
    throw std::invalid_argument("straight-through needs an objective differentiable in z");
  const int S = options_.samples;
  sample_node(node, S, rng, z_, noise_);
  evaluate_with_plain_gradient(objective, z_, S, value_, weight_, &dz_);
  node.family->accumulate_mean_pathwise(node, dz_, grad);
}

}  // namespace gradest
