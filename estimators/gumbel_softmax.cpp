#include "estimators/gumbel_softmax.hpp"

#include <stdexcept>

#include "estimators/monte_carlo.hpp"
#include "models/latent_family.hpp"

namespace gradest {

const EstimatorInfo GumbelSoftmax::kInfo{
    .name = "gumbel-softmax",
    .summary = "Concrete / Gumbel-softmax relaxation, pathwise (Maddison et al. 2017; Jang et al. 2017); BIASED",
    .formula = "df/dz(z~) dz~/dth, z~ = sig or softmax((th + logistic or Gumbel noise)/tau)",
    .target = Target::expectation,
    .unbiased = false,
    .families = {LatentKind::bernoulli, LatentKind::categorical},
    .needs_dz = true,
    .min_samples = 1,
    .cost = "S",
};

void GumbelSoftmax::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  if (!objective.differentiable_in_z())
    throw std::invalid_argument("gumbel-softmax needs an objective differentiable in z (a relaxed decoder)");
  const int S = options_.samples;
  const double tau = options_.real(kTemperature);
  node.family->relaxed_sample(node, S, tau, rng, z_, u_);
  evaluate_with_plain_gradient(objective, z_, S, value_, weight_, &dz_);
  node.family->accumulate_relaxed(node, dz_, z_, tau, grad);
}

}  // namespace gradest
