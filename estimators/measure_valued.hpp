#pragma once
// measure-valued, measure-valued-uncoupled: the measure-valued gradient of a Gaussian (Mohamed, Rosca,
// Figurnov and Mnih, "Monte Carlo Gradient Estimation in Machine Learning", JMLR 2020, section 6 and
// table 1; Pflug 1989).
//
// Target:   E_q[f(z)] (the ELBO with analytic KL); UNBIASED. The derivative of N(x; mu, sigma^2) in a
//           parameter is written as c (p+ - p-), a constant times the difference of two densities
//           (its weak derivative), so d/dtheta E_q[f] = c (E_{p+}[f] - E_{p-}[f]):
//             d/dmu:    c = 1/(sigma sqrt(2 pi)), p+ = mu + sigma W, p- = mu - sigma W, W ~ Weibull(scale
//                       sqrt 2, shape 2) (= Rayleigh(1), W = sqrt(-2 log U));
//             d/dsigma: c = 1/sigma, p+ = mu + sigma M, M ~ double-sided Maxwell (M = s sqrt(g1^2 + g2^2
//                       + g3^2), s a random sign), p- = mu + sigma Z, Z ~ N(0, 1);
//           gradients are reported in log sigma^2: d/dlog_var = (sigma/2) d/dsigma = (f(p+) - f(p-))/2.
//           Latent j's derivative is taken with the other latents at a sample z ~ q (each of the k
//           coordinates in turn: E_{z_-j}[c_j (E_{p+} f - E_{p-} f)]).
// Coupling: measure-valued couples each pair (the same W for mu's two points; Z = g1 and M's sign that
//           of g1 for sigma's), which leaves every marginal as stated and cancels most of f's variation;
//           measure-valued-uncoupled draws the two points of each pair independently. Both unbiased.
// Decoder:  the objective's own parameters get the plain gradient at the base samples z ~ q.
// Latents:  Gaussian only; f need not be differentiable.
// Cost:     S samples, S (1 + 4k) objective evaluations per data point (the base sample, and two points
//           for each of mu_j and sigma_j), k latents.
// Options:  samples S (default 1).
#include "estimators/estimator.hpp"

namespace gradest {

class MeasureValued : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  explicit MeasureValued(EstimatorOptions options, bool coupled = true)
      : Estimator(std::move(options)), coupled_(coupled) {}
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override;

 private:
  bool coupled_;
  Matrix z_, eps_, points_, noise_;
  Vector value_, weight_;
};

class MeasureValuedUncoupled final : public MeasureValued {
 public:
  static const EstimatorInfo kInfo;
  explicit MeasureValuedUncoupled(EstimatorOptions options) : MeasureValued(std::move(options), false) {}
  const EstimatorInfo& info() const override { return kInfo; }
};

}  // namespace gradest
