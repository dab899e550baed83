#include "estimators/vimco.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "models/distributions.hpp"

namespace gradest {

const EstimatorInfo Vimco::kInfo{
    .name = "vimco",
    .summary = "K-sample bound, leave-one-out (geometric mean) baselines (Mnih & Rezende 2016)",
    .formula = "sum_k [(L - L_-k) - wn_k] dlog q(z_k)/dtheta, L = log mean_k w_k",
    .target = Target::importance_bound,
    .unbiased = true,
    .families = {LatentKind::bernoulli, LatentKind::categorical},
    .needs_dz = false,
    .min_samples = 2,
    .cost = "K",
};

void Vimco::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  if (objective.terms() != Objective::Terms::joint)
    throw std::invalid_argument(
        "vimco targets the K-sample bound: it needs an objective whose terms are joint, log p(x, z)");
  const int K = options_.samples;
  const Index B = node.batch();
  sample_node(node, K, rng, z_, noise_);
  objective.evaluate(0, z_, value_);
  log_prob(node, z_, log_q_);
  node_weight_.resize(z_.rows());
  objective_weight_.resize(z_.rows());
  std::vector<double> log_w(K);
  for (Index b = 0; b < B; ++b) {
    double max_lw = -INFINITY, sum_lw = 0;
    for (int k = 0; k < K; ++k) {
      log_w[k] = double(value_(k * B + b)) - double(log_q_(k * B + b));
      max_lw = std::max(max_lw, log_w[k]);
      sum_lw += log_w[k];
    }
    double sum_w = 0;  // sum_k w_k / exp(max_lw)
    for (int k = 0; k < K; ++k) sum_w += std::exp(log_w[k] - max_lw);
    const double L = max_lw + std::log(sum_w / K);
    for (int k = 0; k < K; ++k) {
      const double normalised = std::exp(log_w[k] - max_lw) / sum_w;
      const double geometric = (sum_lw - log_w[k]) / (K - 1);
      const double shift = std::max(max_lw, geometric);  // sum without w_k can be tiny: re-centre
      double rest = std::exp(geometric - shift);
      for (int j = 0; j < K; ++j)
        if (j != k) rest += std::exp(log_w[j] - shift);
      const double L_without = shift + std::log(rest / K);
      node_weight_(k * B + b) = Real((L - L_without) - normalised);
      objective_weight_(k * B + b) = Real(normalised);
    }
  }
  objective.backward(0, objective_weight_, nullptr);
  accumulate_score(node, z_, node_weight_, grad);
}

}  // namespace gradest
