#include "estimators/indecater.hpp"

#include <cmath>
#include <vector>

#include "models/distributions.hpp"
#include "models/latent_family.hpp"

namespace gradest {

const EstimatorInfo IndeCateR::kInfo{
    .name = "indecater",
    .summary = "IndeCateR: per-latent sum over its C values at each sample (De Smet et al. 2023)",
    .formula = "(1/S) sum_s sum_i sum_c dq_i(c)/dth f(z_s,-i, z_i = c), z_s ~ q",
    .target = Target::expectation,
    .unbiased = true,
    .families = {LatentKind::bernoulli, LatentKind::categorical},
    .needs_dz = false,
    .min_samples = 1,
    .cost = "S*k*C",
};

void IndeCateR::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  const LatentFamily& family = *node.family;
  const int S = options_.samples, C = family.support_size();
  const Index B = node.batch(), k = node.dim();
  sample_node(node, S, rng, z_, noise_);
  family.value_log_probs(node, log_q_);
  // Block (s, i, c) = (s k + i) C + c holds the B rows of sample s with latent i set to c.
  const Index blocks = Index(S) * k * C;
  neighbours_.resize(blocks * B, z_.cols());
  weight_.resize(blocks * B);
  for (Index s = 0; s < S; ++s)
    for (Index i = 0; i < k; ++i)
      for (int c = 0; c < C; ++c) {
        const Index first = ((s * k + i) * C + c) * B;
        neighbours_.middleRows(first, B) = z_.middleRows(s * B, B);
        for (Index b = 0; b < B; ++b) {
          family.set_value(neighbours_, first + b, i, c);
          weight_(first + b) = Real(std::exp(log_q_(b, i * C + c)) / double(S * k));
        }
      }
  objective.evaluate(0, neighbours_, value_);
  objective.backward(0, weight_, nullptr);
  std::vector<double> values(std::size_t(C), 0.0);
  for (Index s = 0; s < S; ++s)
    for (Index i = 0; i < k; ++i)
      for (Index b = 0; b < B; ++b) {
        for (int c = 0; c < C; ++c) values[std::size_t(c)] = double(value_(((s * k + i) * C + c) * B + b)) / S;
        family.add_value_expectation_gradient(node, b, i, values.data(), grad);
      }
}

}  // namespace gradest
