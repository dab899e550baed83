#include "estimators/arm.hpp"

#include "estimators/monte_carlo.hpp"

namespace gradest {

const EstimatorInfo Arm::kInfo{
    .name = "arm",
    .summary = "Augment-REINFORCE-Merge, antithetic uniform pair (Yin & Zhou 2019)",
    .formula = "(f(1[u>sig(-th)]) - f(1[u<sig(th)])) (u - 1/2), u ~ U(0,1)",
    .target = Target::expectation,
    .unbiased = true,
    .families = {LatentKind::bernoulli},
    .needs_dz = false,
    .min_samples = 1,
    .cost = "2S",
};

void Arm::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  const int S = options_.samples;
  const Index B = node.batch(), k = node.dim(), rows = Index(S) * B;
  draw_antithetic_pairs(node, S, rng, u_, z_);  // rows [0, SB): z- = b, rows [SB, 2SB): z+ = b~
  evaluate_with_plain_gradient(objective, z_, 2 * S, value_, weight_, nullptr);
  for (Index j = 0; j < k; ++j)
    for (Index r = 0; r < rows; ++r)
      grad.d_logits(r % B, j) += (value_(rows + r) - value_(r)) * (u_(r, j) - Real(0.5)) / Real(S);
}

}  // namespace gradest
