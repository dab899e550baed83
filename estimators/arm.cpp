#include "estimators/arm.hpp"

#include "models/distributions.hpp"

namespace gradest {

const EstimatorInfo Arm::kInfo{
    .name = "arm",
    .summary = "Augment-REINFORCE-Merge, antithetic uniform pair (Yin & Zhou 2019)",
    .formula = "(f(1[u>sig(-th)]) - f(1[u<sig(th)])) (u - 1/2), u ~ U(0,1)",
    .target = Target::expectation,
    .unbiased = true,
    .gaussian = false,
    .bernoulli = true,
    .needs_dz = false,
    .min_samples = 1,
    .cost = "2S",
};

void Arm::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  const int S = options_.samples;
  const Index B = node.batch(), k = node.dim(), rows = Index(S) * B;
  u_.resize(rows, k);
  rng.fill_uniform(u_);
  z_.resize(2 * rows, k);  // rows [0, SB): z+, rows [SB, 2SB): z-
  for (Index j = 0; j < k; ++j)
    for (Index r = 0; r < rows; ++r) {
      const Real p = sigmoid(node.logits(r % B, j));
      z_(r, j) = u_(r, j) > Real(1) - p ? Real(1) : Real(0);
      z_(rows + r, j) = u_(r, j) < p ? Real(1) : Real(0);
    }
  objective.evaluate(0, z_, value_);
  weight_.setConstant(2 * rows, Real(1) / Real(2 * S));
  objective.backward(0, weight_, nullptr);
  for (Index j = 0; j < k; ++j)
    for (Index r = 0; r < rows; ++r)
      grad.d_logits(r % B, j) += (value_(r) - value_(rows + r)) * (u_(r, j) - Real(0.5)) / Real(S);
}

}  // namespace gradest
