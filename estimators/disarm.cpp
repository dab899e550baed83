#include "estimators/disarm.hpp"

#include <cmath>

#include "estimators/monte_carlo.hpp"
#include "models/distributions.hpp"

namespace gradest {

const EstimatorInfo Disarm::kInfo{
    .name = "disarm",
    .summary = "DisARM, antithetic pair with the uniform integrated out (Dong, Mnih & Tucker 2020)",
    .formula = "1/2 (f(b) - f(b~)) (-1)^b~ 1[b != b~] sig(|th|), b~ = 1[1-u < sig(th)]",
    .target = Target::expectation,
    .unbiased = true,
    .families = {LatentKind::bernoulli},
    .needs_dz = false,
    .min_samples = 1,
    .cost = "2S",
};

void Disarm::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  const int S = options_.samples;
  const Index B = node.batch(), k = node.dim(), rows = Index(S) * B;
  draw_antithetic_pairs(node, S, rng, u_, z_);  // rows [0, SB): b, rows [SB, 2SB): b~
  evaluate_with_plain_gradient(objective, z_, 2 * S, value_, weight_, nullptr);
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
