#include "estimators/disarm.hpp"

#include <cmath>

#include "models/distributions.hpp"

namespace gradest {

const EstimatorInfo Disarm::kInfo{
    .name = "disarm",
    .summary = "DisARM, antithetic pair with the uniform integrated out (Dong, Mnih & Tucker 2020)",
    .formula = "1/2 (f(b) - f(b~)) (-1)^b~ 1[b != b~] sig(|th|), b~ = 1[1-u < sig(th)]",
    .target = Target::expectation,
    .unbiased = true,
    .gaussian = false,
    .bernoulli = true,
    .needs_dz = false,
    .min_samples = 1,
    .cost = "2S",
};

void Disarm::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  const int S = options_.samples;
  const Index B = node.batch(), k = node.dim(), rows = Index(S) * B;
  u_.resize(rows, k);
  rng.fill_uniform(u_);
  z_.resize(2 * rows, k);  // rows [0, SB): b, rows [SB, 2SB): b~
  for (Index j = 0; j < k; ++j)
    for (Index r = 0; r < rows; ++r) {
      const Real p = sigmoid(node.logits(r % B, j));
      z_(r, j) = u_(r, j) < p ? Real(1) : Real(0);
      z_(rows + r, j) = Real(1) - u_(r, j) < p ? Real(1) : Real(0);
    }
  objective.evaluate(0, z_, value_);
  weight_.setConstant(2 * rows, Real(1) / Real(2 * S));
  objective.backward(0, weight_, nullptr);
  for (Index j = 0; j < k; ++j)
    for (Index r = 0; r < rows; ++r) {
      const Real b = z_(r, j), b_anti = z_(rows + r, j);
      if (b == b_anti) continue;
      const Real sign = b_anti > Real(0.5) ? Real(-1) : Real(1);
      const Index d = r % B;
      grad.d_logits(d, j) +=
          Real(0.5) * (value_(r) - value_(rows + r)) * sign * sigmoid(std::abs(node.logits(d, j))) / Real(S);
    }
}

}  // namespace gradest
