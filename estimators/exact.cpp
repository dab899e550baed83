#include "estimators/exact.hpp"

#include "models/enumerate.hpp"

namespace gradest {

const EstimatorInfo Exact::kInfo{
    .name = "exact",
    .summary = "exact gradient by enumerating all 2^k configurations (k <= 16), a reference",
    .formula = "sum_z q(z) f(z) dlog q(z)/dtheta",
    .target = Target::expectation,
    .unbiased = true,
    .families = {LatentKind::bernoulli, LatentKind::categorical},
    .needs_dz = false,
    .min_samples = 1,
    .cost = "C^k",
};

void Exact::estimate(const StochasticNode& node, Objective& objective, Rng&, NodeGradient& grad) {
  exact_enumerated_expectation(node, objective, &grad, true);
}

}  // namespace gradest
