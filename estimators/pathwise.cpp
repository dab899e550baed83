#include "estimators/pathwise.hpp"

#include "models/distributions.hpp"

namespace gradest {

const EstimatorInfo Pathwise::kInfo{
    .name = "pathwise",
    .summary = "reparameterisation gradient (Kingma & Welling 2014)",
    .formula = "(1/S) sum_s df/dz(mu + sigma*eps_s) dz/dtheta",
    .target = Target::expectation,
    .unbiased = true,
    .families = {LatentKind::gaussian},
    .needs_dz = true,
    .min_samples = 1,
    .cost = "S",
};

void Pathwise::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  const int S = options_.samples;
  sample_node(node, S, rng, z_, eps_);
  objective.evaluate(0, z_, value_);
  weight_.setConstant(z_.rows(), Real(1) / Real(S));
  objective.backward(0, weight_, &dz_);
  accumulate_reparam(node, dz_, eps_, grad);
}

}  // namespace gradest
