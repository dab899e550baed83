#include "estimators/dreg.hpp"

#include "models/distributions.hpp"

namespace gradest {

const EstimatorInfo Dreg::kInfo{
    .name = "dreg",
    .summary = "doubly reparameterised K-sample bound gradient (Tucker et al. 2019)",
    .formula = "sum_k wtilde_k^2 [df/dz - dlog q/dz](z_k) dz_k/dphi; decoder sum_k wtilde_k grad f",
    .target = Target::importance_bound,
    .unbiased = true,
    .families = {LatentKind::gaussian},
    .needs_dz = true,
    .min_samples = 1,
    .cost = "K",
};

void Dreg::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  draw_importance_samples(kInfo.name, node, objective, options_.samples, rng, samples_);
  ImportanceSamples& s = samples_;
  const Index B = node.batch();
  const Matrix inv_sd = (node.log_var.array() * Real(-0.5)).exp();
  // dz holds wtilde * df/dz (the decoder needed weights wtilde); the encoder's weight is wtilde^2.
  for (Index r = 0; r < s.z.rows(); ++r)
    s.dz.row(r).array() = s.wtilde(r) * (s.dz.row(r).array() + s.wtilde(r) * s.eps.row(r).array() * inv_sd.row(r % B).array());
  accumulate_reparam(node, s.dz, s.eps, grad);
}

}  // namespace gradest
