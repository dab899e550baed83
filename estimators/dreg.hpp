#pragma once
// dreg: doubly reparameterised gradient of the K-sample bound (Tucker, Lawson, Gu and Maddison
// 2019), Gaussian latents.
//
// Target:   Target::importance_bound, sum_b E[ log (1/K) sum_k w_k ],  log w_k = f(z_k) - log q(z_k | x),
//           objective terms joint (estimate() throws std::invalid_argument for a likelihood-only
//           objective). UNBIASED for every K >= 1 (the encoder part by the reparameterisation
//           identity E[wtilde_k d log w_k/d z_k ...] of Tucker et al., eq. 5-7; the decoder part is
//           the plain gradient). At K = 1 it equals stl.
// Formula:  encoder: sum_k wtilde_k^2 [df/dz(z_k) - dlog q/dz(z_k)] dz_k/d(mu, log var)
//           (dlog q/dz = -eps/sigma; the direct score term of log q is dropped, not needed);
//           decoder/prior: sum_k wtilde_k grad_theta f(z_k).
// Latents:  Gaussian only; needs df/dz.
// Cost:     K samples, K objective evaluations per data point.
// Options:  samples = K (default 1).
#include "estimators/estimator.hpp"
#include "estimators/importance_weights.hpp"

namespace gradest {

class Dreg final : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  explicit Dreg(EstimatorOptions options) : Estimator(std::move(options)) {}
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override;

 private:
  ImportanceSamples samples_;
};

}  // namespace gradest
