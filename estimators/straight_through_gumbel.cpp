#include "estimators/straight_through_gumbel.hpp"

#include <stdexcept>

#include "estimators/monte_carlo.hpp"
#include "models/latent_family.hpp"

namespace gradest {

const EstimatorInfo StraightThroughGumbel::kInfo{
    .name = "straight-through-gumbel",
    .summary = "straight-through Gumbel-softmax: hard sample forward, relaxed backward (Jang et al. 2017); BIASED",
    .formula = "df/dz(hard(z~)) dz~/dth, z~ = sig or softmax((th + noise)/tau)",
    .target = Target::expectation,
    .unbiased = false,
    .families = {LatentKind::bernoulli, LatentKind::categorical},
    .needs_dz = true,
    .min_samples = 1,
    .cost = "S",
};

void StraightThroughGumbel::estimate(const StochasticNode& node, Objective& objective, Rng& rng,
                                     NodeGradient& grad) {
  if (!objective.differentiable_in_z())
    throw std::invalid_argument("straight-through-gumbel needs an objective differentiable in z");
  const int S = options_.samples;
  const double tau = options_.real(GumbelSoftmax::kTemperature);
  node.family->relaxed_sample(node, S, tau, rng, relaxed_, u_);
  node.family->harden(relaxed_, z_);
  evaluate_with_plain_gradient(objective, z_, S, value_, weight_, &dz_);
  node.family->accumulate_relaxed(node, dz_, relaxed_, tau, grad);
}

}  // namespace gradest
