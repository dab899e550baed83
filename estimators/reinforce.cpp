#include "estimators/reinforce.hpp"

#include "models/distributions.hpp"

namespace gradest {

const EstimatorInfo Reinforce::kInfo{
    .name = "reinforce",
    .summary = "score function / REINFORCE, no baseline (Williams 1992)",
    .formula = "(1/S) sum_s f(z_s) dlog q(z_s)/dtheta",
    .target = Target::expectation,
    .unbiased = true,
    .gaussian = true,
    .bernoulli = true,
    .needs_dz = false,
    .min_samples = 1,
    .cost = "S",
};

void Reinforce::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  const int S = options_.samples;
  sample_node(node, S, rng, z_, noise_);
  objective.evaluate(0, z_, value_);
  weight_.setConstant(z_.rows(), Real(1) / Real(S));
  objective.backward(0, weight_, nullptr);
  accumulate_score(node, z_, value_ * (Real(1) / Real(S)), grad);
}

}  // namespace gradest
