#pragma once
// double-cv: REINFORCE leave-one-out with a second, global control variate from a first-order
// Taylor expansion of f (Titsias and Shi 2022, "Double control variates for gradient estimation in
// discrete latent variable models", AISTATS; arXiv 2111.05300). Written from the authors' reference
// code (Shi et al.'s RODEO repository, github.com/thjashin/rodeo, networks.py, grad_type double_cv).
//
// Target:   E_q[f(z)] (the ELBO with analytic KL), q = prod_j Bern(p_j), p = sigmoid(theta); UNBIASED
//           for every fixed coefficient alpha.
// Formula:  z_1..z_K ~ q iid, f_s = f(z_s), g_s = df/dz at z_s (each sample's OWN z: the gradient the
//           decoder's backward pass gives anyway), g^ = (1/K) sum_s g_s, g^_{-s} = (1/(K-1)) sum_{i != s} g_i,
//             c_s = alpha g^_{-s} . (z_s - p)                 (the global control variate of sample s)
//             a_s = f_s - c_s
//             g   = (1/K) sum_s (a_s - (1/(K-1)) sum_{i != s} a_i) (z_s - p)  +  alpha g^ (.) p (1 - p)
//                 = (1/(K-1)) sum_s (a_s - mean_i a_i) (z_s - p)  +  alpha g^ (.) p (1 - p).
//           The last term is the correction: E[c_s (z_s - p)] = alpha E_q[df/dz] (.) p(1-p) (g^_{-s} is
//           independent of z_s), estimated without bias by g^; c_i (i != s) only enters through the
//           leave-one-out mean, and E[c_i (z_s - p)] = 0 because z_i is independent of g^_{-i} and z_s.
//           For a linear f the estimate is exact (zero variance).
//           Coefficient: a scalar alpha, learned online as in the reference code (which flips its
//           sign: it adds +c to a loss): after each training step's estimate, an Adam step of size
//           cv-lr down d/dalpha of sum_{b,j} g_bj^2 / B (the estimate is g0 + alpha g1, so the slope
//           is 2 sum g g1), whose expectation is the variance plus a constant. The reference starts
//           at alpha = 0 (plain reinforce-loo), and so does gradest (taylor-scale, default 0);
//           the unbiasedness suite and the tests run it at alpha = 1, the Taylor expansion's own
//           coefficient, so that the control variate and its correction are exercised.
//           Objective parameters: the plain gradient (1/K) sum_s grad f(z_s) from the same K rows.
// Latents:  Bernoulli only; f must be differentiable in z (Objective::differentiable_in_z, as
//           Bernoulli decoders are: they accept relaxed z) and is differentiated at binary z.
// Cost:     K samples, K objective evaluations and one backward (df/dz at the K samples) per data
//           point; no extra evaluations over reinforce-loo. K >= 2.
// Options:  samples K (the common `samples`, S elsewhere; default 1, so give K >= 2); taylor-scale,
//           alpha's start (default 0); adapt-scale (default true), cv-lr (default 0.001). alpha is the run's
//           diagnostic (trace/cv_scale).
#include <memory>

#include "estimators/estimator.hpp"

namespace gradest {
class Optimizer;
}

namespace gradest {

class DoubleCV final : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  static constexpr OptionSpec kScale{.name = "taylor-scale",
                                     .type = OptionType::real,
                                     .default_text = "0",
                                     .min = -1e6,
                                     .max = 1e6,
                                     .help = "coefficient alpha of the Taylor control variate (the start when adapted)"};
  static constexpr const OptionSpec& kAdaptScale = kAdaptScaleOption;
  static constexpr const OptionSpec& kLr = kCvLrOption;
  static constexpr OptionSpec kOptions[] = {kScale, kAdaptScale, kLr};

  explicit DoubleCV(EstimatorOptions options);
  ~DoubleCV() override;
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override;
  void learn(Rng& rng) override;
  EstimatorDiagnostics diagnostics() const override;
  double scale() const { return alpha_; }

  // The deliberately biased variant the tests must catch: the control variate without its
  // correction term alpha g^ (.) p (1 - p). Never set outside tests.
  bool omit_correction = false;

 private:
  double alpha_;
  std::unique_ptr<Optimizer> optimizer_;
  double d_scale_ = 0, last_batch_ = 0;
  bool pending_ = false;
  Matrix z_, noise_, dz_;
  Vector value_, weight_;
};

}  // namespace gradest
