#pragma once
// reinforce-ma: score function with a constant baseline, an exponential moving average of the
// learning signal (Williams 1992; the "MA" baseline of Mnih and Gregor 2014, section 3).
//
// Target:   E_q[f(z)] (the ELBO with analytic KL); UNBIASED: the baseline c used by estimate() was
//           fixed by earlier steps (learn()), so it is independent of this step's samples.
// Formula:  g = (1/S) sum_s (f(z_s) - c) * d log q(z_s)/d theta,  z_s ~ q
//           learn(): c <- decay * c + (1 - decay) * m, m = mean of f over the last estimate's S*B rows
//           (the first learn() sets c = m; before any learn() c = 0, i.e. plain reinforce).
// Latents:  Gaussian, Bernoulli and categorical; f need not be differentiable.
// Cost:     S samples, S objective evaluations per data point.
// Options:  samples S (default 1); baseline-decay (kDecay: default 0.9, in [0, 1)).
// Diagnostics: baseline_loss = mean of (f - c)^2 over the last estimate's rows; explained_variance =
//           1 - Var(f - c)/Var(f), which is 0 for a constant baseline (it lowers the second moment
//           of the signal, not its spread across rows).
#include "estimators/monte_carlo.hpp"

namespace gradest {

class ReinforceMA final : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  static constexpr const OptionSpec& kDecay = kBaselineDecayOption;
  static constexpr OptionSpec kOptions[] = {kDecay};
  explicit ReinforceMA(EstimatorOptions options) : Estimator(std::move(options)) {}
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override;
  void learn(Rng& rng) override;
  EstimatorDiagnostics diagnostics() const override;
  // The baseline c the next estimate() will use.
  double baseline() const { return baseline_; }

 private:
  double baseline_ = 0.0;
  bool baseline_set_ = false;
  double last_mean_ = 0.0, last_second_moment_ = 0.0;  // of f, and of (f - c)^2, over the last estimate
  double last_variance_ = 0.0;
  bool have_last_ = false;
  ScoreSamples samples_;
};

}  // namespace gradest
