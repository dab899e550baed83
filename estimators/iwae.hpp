#pragma once
// iwae: the pathwise gradient of the K-sample importance-weighted bound (Burda, Grosse and
// Salakhutdinov 2016), Gaussian latents.
//
// Target:   Target::importance_bound, sum_b E[ log (1/K) sum_k w_k ],  log w_k = f(z_k) - log q(z_k | x_b),
//           z_k = mu + sigma eps_k, eps_k ~ N(0, I) iid. UNBIASED for the gradient of that bound
//           (encoder node parameters and the objective's own parameters). K = 1 is the ELBO with
//           the entropy term taken inside the sample (sampled KL), not the analytic-KL ELBO.
// What the trainer passes: an objective with terms joint (f = log p(x, z) = log p(x|z) + log p(z));
//           estimate() throws std::invalid_argument for a likelihood-only objective.
// Formula:  wtilde_k = w_k / sum_j w_j. The TOTAL derivative of log w_k (through z_k and the direct
//           dependence of log q on (mu, log sigma^2)):  log q(mu + sigma eps; mu, sigma) =
//           -d/2 log 2 pi - sum_j log sigma_j - |eps|^2/2, so the two log q paths cancel for mu and
//           leave -1/2 per coordinate for log sigma^2:
//             d/dmu        = sum_k wtilde_k df/dz(z_k)
//             d/dlog var   = sum_k wtilde_k df/dz(z_k) * sigma eps_k / 2  +  1/2
//             d/dtheta_p   = sum_k wtilde_k grad_theta f(z_k)   (objective.backward with weights wtilde)
// Latents:  Gaussian only; needs df/dz.
// Cost:     K samples, K objective evaluations (and one weighted backward over K*B rows) per data point.
// Options:  samples = K (default 1).
#include "estimators/estimator.hpp"
#include "estimators/importance_weights.hpp"

namespace gradest {

class Iwae final : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  explicit Iwae(EstimatorOptions options) : Estimator(std::move(options)) {}
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override;

 private:
  ImportanceSamples samples_;
};

}  // namespace gradest
