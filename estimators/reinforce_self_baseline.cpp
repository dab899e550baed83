#include "estimators/reinforce_self_baseline.hpp"

#include "models/distributions.hpp"

namespace gradest {

const EstimatorInfo ReinforceSelfBaseline::kInfo{
    .name = "reinforce-self-baseline",
    .summary = "DELIBERATELY BIASED score function (baseline includes its own sample): power-test reference",
    .formula = "(1/S) sum_s (f(z_s) - mean_j f(z_j)) dlog q(z_s)/dtheta",
    .target = Target::expectation,
    .unbiased = false,
    .gaussian = true,
    .bernoulli = true,
    .needs_dz = false,
    .min_samples = 2,
    .cost = "S",
};

void ReinforceSelfBaseline::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  const int S = options_.samples;
  const Index B = node.batch();
  sample_node(node, S, rng, z_, noise_);
  objective.evaluate(0, z_, value_);
  weight_.setConstant(z_.rows(), Real(1) / Real(S));
  objective.backward(0, weight_, nullptr);
  for (Index b = 0; b < B; ++b) {
    double mean = 0;
    for (int s = 0; s < S; ++s) mean += value_(s * B + b);
    mean /= S;
    for (int s = 0; s < S; ++s) weight_(s * B + b) = Real((value_(s * B + b) - mean) / S);
  }
  accumulate_score(node, z_, weight_, grad);
}

}  // namespace gradest
