#include "estimators/reinforce_loo.hpp"

#include "models/distributions.hpp"

namespace gradest {

const EstimatorInfo ReinforceLOO::kInfo{
    .name = "reinforce-loo",
    .summary = "score function, leave-one-out baseline over S >= 2 samples (Kool et al. 2019)",
    .formula = "(1/(S-1)) sum_s (f(z_s) - mean_j f(z_j)) dlog q(z_s)/dtheta",
    .target = Target::expectation,
    .unbiased = true,
    .gaussian = true,
    .bernoulli = true,
    .needs_dz = false,
    .min_samples = 2,
    .cost = "S",
};

void ReinforceLOO::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
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
    for (int s = 0; s < S; ++s) weight_(s * B + b) = Real((value_(s * B + b) - mean) / (S - 1));
  }
  accumulate_score(node, z_, weight_, grad);
}

}  // namespace gradest
