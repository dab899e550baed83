#include "estimators/double_cv.hpp"

#include <stdexcept>
#include <vector>

#include "estimators/monte_carlo.hpp"
#include "models/distributions.hpp"

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

namespace {
constexpr double kAlpha = 1.0;  // the Taylor expansion's coefficient (see the header)
}  // namespace

void DoubleCV::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  if (!objective.differentiable_in_z())
    throw std::invalid_argument("double-cv needs an objective differentiable in z (a relaxed decoder)");
  const int K = options_.samples;
  const Index B = node.batch(), k = node.dim();
  sample_node(node, K, rng, z_, noise_);
  // dz_ row r = (1/K) df/dz at z_r: the rows of a data point sum to g^.
  evaluate_with_plain_gradient(objective, z_, K, value_, weight_, &dz_);
  std::vector<double> p(k), grad_mean(k), signal(K);
  for (Index b = 0; b < B; ++b) {
    for (Index j = 0; j < k; ++j) {
      p[j] = sigmoid(double(node.logits(b, j)));
      grad_mean[j] = 0;
      for (int s = 0; s < K; ++s) grad_mean[j] += dz_(s * B + b, j);
    }
    double signal_mean = 0;
    for (int s = 0; s < K; ++s) {
      const Index r = s * B + b;
      double control = 0;  // g^_{-s} . (z_s - p), with g^_{-s} = K (g^ - dz_r) / (K - 1)
      for (Index j = 0; j < k; ++j)
        control += (grad_mean[j] - double(dz_(r, j))) * double(K) / double(K - 1) * (double(z_(r, j)) - p[j]);
      signal[s] = double(value_(r)) - kAlpha * control;
      signal_mean += signal[s] / K;
    }
    for (int s = 0; s < K; ++s) weight_(s * B + b) = Real((signal[s] - signal_mean) / (K - 1));
    if (!omit_correction)
      for (Index j = 0; j < k; ++j) grad.d_logits(b, j) += Real(kAlpha * grad_mean[j] * p[j] * (1 - p[j]));
  }
  accumulate_score(node, z_, weight_, grad);
}

}  // namespace gradest
