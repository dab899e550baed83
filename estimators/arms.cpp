#include "estimators/arms.hpp"

#include <cmath>
#include <vector>

#include "estimators/monte_carlo.hpp"
#include "models/distributions.hpp"

namespace gradest {

const EstimatorInfo Arms::kInfo{
    .name = "arms",
    .summary = "ARMS, K jointly antithetic samples (Dirichlet copula), leave-one-out baseline (Dimitriev & Zhou 2021)",
    .formula = "c/(K-1) sum_k (f(b_k) - mean f) (b_k - p), c = p(1-p)/(p - P(b_i = b_k = 1))",
    .target = Target::expectation,
    .unbiased = true,
    .families = {LatentKind::bernoulli},
    .needs_dz = false,
    .min_samples = 2,
    .cost = "K",
};

namespace arms {

double debias_factor(double theta, int samples) {
  const double m = samples - 1, abs_theta = std::abs(theta);
  // q^{-1/m} = exp(-log q / m), log q = log sigmoid(-|theta|) = -softplus(|theta|); it overflows to
  // inf for huge |theta|, where the clamp gives the right limit 0.
  const double x = 2 - std::exp(softplus(abs_theta) / m);
  const double correlated = x > 0 ? std::pow(x, m) : 0.0;
  return sigmoid(abs_theta) / (1 - correlated);
}

void draw_copula_samples(const StochasticNode& node, int samples, Rng& rng, Matrix& z) {
  const Index B = node.batch(), k = node.dim();
  const double m = samples - 1;
  z.resize(Index(samples) * B, k);
  std::vector<double> exponential(samples), before(samples + 1);
  for (Index j = 0; j < k; ++j)
    for (Index d = 0; d < B; ++d) {
      const double theta = node.logits(d, j), log_q = log_sigmoid(-std::abs(theta));
      // Compare log U_k = m log(1 - D_k) with log q; 1 - D_k is the sum of the OTHER exponentials over
      // the total (prefix + suffix, not total - E_k), so U_k keeps its relative precision near 0,
      // where q = sigmoid(-|theta|) lies for large |theta|.
      for (int s = 0; s < samples; ++s) {
        exponential[s] = -std::log(rng.uniform_open());
        before[s + 1] = before[s] + exponential[s];
      }
      const double log_total = std::log(before[samples]);
      double after = 0;
      for (int s = samples - 1; s >= 0; --s) {
        const double log_u = m * (std::log(before[s] + after) - log_total);
        after += exponential[s];
        const bool below = log_u < log_q;
        z(s * B + d, j) = below != (theta >= 0) ? Real(1) : Real(0);
      }
    }
}

void accumulate(const StochasticNode& node, int samples, const Matrix& z, const Vector& value, NodeGradient& grad) {
  const Index B = node.batch(), k = node.dim();
  for (Index d = 0; d < B; ++d) {
    double mean = 0;
    for (int s = 0; s < samples; ++s) mean += value(s * B + d);
    mean /= samples;
    for (Index j = 0; j < k; ++j) {
      const double theta = node.logits(d, j);
      // b - p without cancellation: 1 - p = sigmoid(-theta).
      const double one_minus_p = sigmoid(-theta), minus_p = -sigmoid(theta);
      double sum = 0;
      for (int s = 0; s < samples; ++s)
        sum += (value(s * B + d) - mean) * (z(s * B + d, j) > Real(0.5) ? one_minus_p : minus_p);
      grad.d_logits(d, j) += Real(debias_factor(theta, samples) * sum / (samples - 1));
    }
  }
}

}  // namespace arms

void Arms::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  const int K = options_.samples;
  arms::draw_copula_samples(node, K, rng, z_);
  evaluate_with_plain_gradient(objective, z_, K, value_, weight_, nullptr);
  arms::accumulate(node, K, z_, value_, grad);
}

}  // namespace gradest
