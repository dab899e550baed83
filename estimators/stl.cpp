#include "estimators/stl.hpp"

#include "models/distributions.hpp"

namespace gradest {

const EstimatorInfo Stl::kInfo{
    .name = "stl",
    .summary = "sticking the landing (Roeder et al. 2017); unbiased at K = 1 only (IWAE-STL is biased)",
    .formula = "sum_k wtilde_k [df/dz - dlog q/dz](z_k) dz_k/dtheta, score of log q dropped",
    .target = Target::importance_bound,
    .unbiased = false,
    .families = {LatentKind::gaussian},
    .needs_dz = true,
    .min_samples = 1,
    .cost = "K",
};

void Stl::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  draw_importance_samples(kInfo.name, node, objective, options_.samples, rng, samples_);
  ImportanceSamples& s = samples_;
  const Index B = node.batch();
  const Matrix inv_sd = (node.log_var.array() * Real(-0.5)).exp();
  for (Index r = 0; r < s.z.rows(); ++r)  // dz += wtilde * (-dlog q/dz) = wtilde * eps / sigma
    s.dz.row(r).array() += s.wtilde(r) * s.eps.row(r).array() * inv_sd.row(r % B).array();
  accumulate_reparam(node, s.dz, s.eps, grad);
}

}  // namespace gradest
