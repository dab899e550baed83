#include "estimators/reinforce_ma.hpp"

#include <limits>

#include "models/distributions.hpp"

namespace gradest {

const EstimatorInfo ReinforceMA::kInfo{
    .name = "reinforce-ma",
    .summary = "score function, moving-average constant baseline (decay 0.9 default)",
    .formula = "(1/S) sum_s (f(z_s) - c) dlog q(z_s)/dtheta, c <- d*c + (1-d)*mean f",
    .target = Target::expectation,
    .unbiased = true,
    .families = {LatentKind::gaussian, LatentKind::bernoulli, LatentKind::categorical},
    .needs_dz = false,
    .min_samples = 1,
    .cost = "S",
};

void ReinforceMA::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  const int S = options_.samples;
  ScoreSamples& s = samples_;
  s.draw(node, objective, S, rng);
  const Vector& value = s.value;
  double sum = 0, sum_sq = 0, sum_centred_sq = 0;
  for (Index r = 0; r < value.size(); ++r) {
    const double f = value(r);
    sum += f;
    sum_sq += f * f;
    sum_centred_sq += (f - baseline_) * (f - baseline_);
  }
  const double n = double(value.size());
  last_mean_ = sum / n;
  last_second_moment_ = sum_centred_sq / n;
  last_variance_ = sum_sq / n - last_mean_ * last_mean_;
  have_last_ = true;
  s.weight = (value.array() - Real(baseline_)) * (Real(1) / Real(S));
  accumulate_score(node, s.z, s.weight, grad);
}

void ReinforceMA::learn(Rng&) {
  if (!have_last_) return;
  const double decay = options_.real(kDecay);
  baseline_ = baseline_set_ ? decay * baseline_ + (1 - decay) * last_mean_ : last_mean_;
  baseline_set_ = true;
}

EstimatorDiagnostics ReinforceMA::diagnostics() const {
  EstimatorDiagnostics d;
  if (!have_last_) return d;
  d.baseline_loss = last_second_moment_;
  d.explained_variance = last_variance_ > 0 ? 0.0 : std::numeric_limits<double>::quiet_NaN();
  return d;
}

}  // namespace gradest
