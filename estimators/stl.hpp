#pragma once
// stl: "sticking the landing" (Roeder, Wu and Duvenaud 2017), the path derivative of log w with the
// score term of log q dropped; Gaussian latents.
//
// Semantics chosen by gradest: stl targets the importance-weighted bound (Target::importance_bound,
// objective terms joint, log w_k = f(z_k) - log q(z_k | x)), so that
//   - K = 1 is Roeder et al.'s estimator of the ELBO E_q[log p(x, z) - log q(z | x)] with the
//     entropy taken inside the sample: UNBIASED (the dropped term, E_q[d log q/d params], is 0);
//   - K > 1 is IWAE-STL, which is BIASED for the K-sample bound's gradient (Tucker, Lawson, Gu and
//     Maddison 2019, section 4: the dropped term sum_k wtilde_k d log q(z_k)/d params has nonzero
//     mean because wtilde depends on z). dreg is its unbiased correction.
// It is NOT an estimator of the analytic-KL ELBO: with a likelihood-only objective the score term it
// drops would belong to a KL the caller adds analytically, so estimate() throws
// std::invalid_argument for an objective whose terms are `likelihood`.
// The registry lists it as biased (unbiased only at K = 1).
// Formula:  encoder: sum_k wtilde_k [df/dz(z_k) - dlog q/dz(z_k)] dz_k/d(mu, log var),
//           with dlog q/dz = -eps/sigma, dz/dmu = 1, dz/dlog var = sigma eps / 2;
//           decoder/prior: sum_k wtilde_k grad_theta f(z_k) (the bound's own gradient).
// Latents:  Gaussian only; needs df/dz.
// Cost:     K samples, K objective evaluations per data point.
// Options:  samples = K (default 1).
#include "estimators/estimator.hpp"
#include "estimators/importance_weights.hpp"

namespace gradest {

class Stl final : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  explicit Stl(EstimatorOptions options) : Estimator(std::move(options)) {}
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override;

 private:
  ImportanceSamples samples_;
};

}  // namespace gradest
