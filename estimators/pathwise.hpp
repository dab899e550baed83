#pragma once
// pathwise: the reparameterisation gradient (Kingma and Welling 2014; Rezende et al. 2014).
//
// Target:   E_q[f(z)] (the ELBO with analytic KL); unbiased.
// Formula:  z_s = mu + sigma * eps_s, eps_s ~ N(0, I);  g = (1/S) sum_s df/dz(z_s) * dz_s/d(mu, log sigma^2)
// Latents:  Gaussian only; needs df/dz.
// Cost:     S samples, S objective evaluations (and S backward passes) per data point.
// Options:  samples S (default 1).
#include "estimators/estimator.hpp"

namespace gradest {

class Pathwise final : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  explicit Pathwise(EstimatorOptions options) : Estimator(std::move(options)) {}
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override;

 private:
  Matrix z_, eps_, dz_;
  Vector value_, weight_;
};

}  // namespace gradest
