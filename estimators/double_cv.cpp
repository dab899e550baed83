#include "estimators/double_cv.hpp"

#include <stdexcept>
#include <vector>

#include "estimators/monte_carlo.hpp"
#include "models/distributions.hpp"
#include "models/optimizer.hpp"

namespace gradest {

const EstimatorInfo DoubleCV::kInfo{
    .name = "double-cv",
    .summary = "REINFORCE leave-one-out + Taylor global control variate, df/dz at the samples (Titsias & Shi 2022)",
    .formula = "(1/(K-1)) sum_s (a_s - mean a)(z_s - p) + g^ p(1-p), a_s = f_s - g^_{-s}.(z_s - p), g = df/dz",
    .target = Target::expectation,
    .unbiased = true,
    .families = {LatentKind::bernoulli},
    .needs_dz = true,
    .min_samples = 2,
    .cost = "S",  // K = S; df/dz comes from the backward at the same S rows
};

DoubleCV::DoubleCV(EstimatorOptions options) : Estimator(std::move(options)), alpha_(options_.real(kScale)) {}

DoubleCV::~DoubleCV() = default;

EstimatorDiagnostics DoubleCV::diagnostics() const {
  EstimatorDiagnostics d;
  d.scale = alpha_;
  return d;
}

void DoubleCV::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  if (!objective.differentiable_in_z())
    throw std::invalid_argument("double-cv needs an objective differentiable in z (a relaxed decoder)");
  const int K = options_.samples;
  const Index B = node.batch(), k = node.dim();
  sample_node(node, K, rng, z_, noise_);
  // dz_ row r = (1/K) df/dz at z_r: the rows of a data point sum to g^.
  evaluate_with_plain_gradient(objective, z_, K, value_, weight_, &dz_);
  // The estimate is g0 + alpha g1 per (data point, latent); learn() descends sum g^2 in alpha.
  std::vector<double> p(k), grad_mean(k), control(K);
  double second_moment_slope = 0;
  for (Index b = 0; b < B; ++b) {
    double value_mean = 0, control_mean = 0;
    for (Index j = 0; j < k; ++j) {
      p[j] = sigmoid(double(node.logits(b, j)));
      grad_mean[j] = 0;
      for (int s = 0; s < K; ++s) grad_mean[j] += dz_(s * B + b, j);
    }
    for (int s = 0; s < K; ++s) {
      const Index r = s * B + b;
      control[s] = 0;  // g^_{-s} . (z_s - p), with g^_{-s} = K (g^ - dz_r) / (K - 1)
      for (Index j = 0; j < k; ++j)
        control[s] += (grad_mean[j] - double(dz_(r, j))) * double(K) / double(K - 1) * (double(z_(r, j)) - p[j]);
      value_mean += double(value_(r)) / K;
      control_mean += control[s] / K;
    }
    for (Index j = 0; j < k; ++j) {
      double g0 = 0, g1 = omit_correction ? 0.0 : grad_mean[j] * p[j] * (1 - p[j]);
      for (int s = 0; s < K; ++s) {
        const Index r = s * B + b;
        const double score = double(z_(r, j)) - p[j];
        g0 += (double(value_(r)) - value_mean) * score / (K - 1);
        g1 -= (control[s] - control_mean) * score / (K - 1);
      }
      const double g = g0 + alpha_ * g1;
      grad.d_logits(b, j) += Real(g);
      second_moment_slope += 2 * g * g1;
    }
  }
  d_scale_ = second_moment_slope;
  last_batch_ = double(B);
  pending_ = true;
}

void DoubleCV::learn(Rng& /*rng*/) {
  if (!pending_ || !options_.boolean(kAdaptScale)) return;
  pending_ = false;
  if (!optimizer_) {
    OptimizerOptions adam;
    adam.lr.initial = options_.real(kLr);
    optimizer_ = Optimizer::make(adam, 1);
  }
  Vector param(1), step(1);  // descent on the second moment: the optimisers ascend
  param << Real(alpha_);
  step << Real(-d_scale_);
  optimizer_->step(param, step, Real(1.0 / last_batch_));
  alpha_ = param(0);
}

}  // namespace gradest
