#include "estimators/straight_through.hpp"

#include <stdexcept>

#include "estimators/monte_carlo.hpp"
#include "models/distributions.hpp"

namespace gradest {

const EstimatorInfo StraightThrough::kInfo{
    .name = "straight-through",
    .summary = "hard sample forward, gradient through sigmoid(logit) (Bengio et al. 2013); BIASED",
    .formula = "(1/S) sum_s df/dz(z_s) sig(th)(1 - sig(th)), z_s ~ q",
    .target = Target::expectation,
    .unbiased = false,
    .families = {LatentKind::bernoulli},
    .needs_dz = true,
    .min_samples = 1,
    .cost = "S",
};

void StraightThrough::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  if (!objective.differentiable_in_z())
    throw std::invalid_argument("straight-through needs an objective differentiable in z");
  const int S = options_.samples;
  const Index B = node.batch(), k = node.dim();
  sample_node(node, S, rng, z_, noise_);
  evaluate_with_plain_gradient(objective, z_, S, value_, weight_, &dz_);
  for (Index j = 0; j < k; ++j)
    for (Index r = 0; r < z_.rows(); ++r) {
      const Real p = sigmoid(node.logits(r % B, j));
      grad.d_logits(r % B, j) += dz_(r, j) * p * (Real(1) - p);
    }
}

}  // namespace gradest
