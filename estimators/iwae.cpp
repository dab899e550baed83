#include "estimators/iwae.hpp"

#include "models/distributions.hpp"

namespace gradest {

const EstimatorInfo Iwae::kInfo{
    .name = "iwae",
    .summary = "pathwise gradient of the K-sample bound (Burda et al. 2016)",
    .formula = "sum_k wtilde_k dlog w_k/dtheta (total derivative), z_k = mu + sigma*eps_k",
    .target = Target::importance_bound,
    .unbiased = true,
    .families = {LatentKind::gaussian},
    .needs_dz = true,
    .min_samples = 1,
    .cost = "K",
};

void Iwae::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  draw_importance_samples(kInfo.name, node, objective, options_.samples, rng, samples_);
  accumulate_reparam(node, samples_.dz, samples_.eps, grad);
  // -log q contributes its exact total derivative (0 for mu, 1/2 for log var) times sum_k wtilde_k = 1.
  grad.d_log_var.array() += Real(0.5);
}

}  // namespace gradest
