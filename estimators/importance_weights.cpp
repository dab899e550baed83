#include "estimators/importance_weights.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <stdexcept>

#include "models/distributions.hpp"
#include "models/latent_family.hpp"

namespace gradest {

void draw_importance_samples(std::string_view estimator, const StochasticNode& node, Objective& objective,
                             int samples, Rng& rng, ImportanceSamples& out) {
  if (!node.family->reparameterisable())
    throw std::invalid_argument(
        fmt::format("{} needs reparameterisable (Gaussian) latents, got {}", estimator, node.family->name()));
  if (objective.terms() == Objective::Terms::likelihood)
    throw std::invalid_argument(fmt::format(
        "{} targets the K-sample bound: it needs an objective whose terms are joint, log p(x, z)", estimator));
  if (!objective.differentiable_in_z())
    throw std::invalid_argument(fmt::format("{} needs an objective differentiable in z", estimator));
  const int K = samples;
  const Index B = node.batch();
  sample_node(node, K, rng, out.z, out.eps);
  objective.evaluate(0, out.z, out.f);
  log_prob(node, out.z, out.log_q);
  out.wtilde.resize(out.z.rows());
  out.bound.resize(B);
  for (Index b = 0; b < B; ++b) {
    double max_log_w = -INFINITY;
    for (int k = 0; k < K; ++k)
      max_log_w = std::max(max_log_w, double(out.f(k * B + b)) - double(out.log_q(k * B + b)));
    double sum = 0;
    for (int k = 0; k < K; ++k) sum += std::exp(double(out.f(k * B + b)) - double(out.log_q(k * B + b)) - max_log_w);
    for (int k = 0; k < K; ++k)
      out.wtilde(k * B + b) =
          Real(std::exp(double(out.f(k * B + b)) - double(out.log_q(k * B + b)) - max_log_w) / sum);
    out.bound(b) = max_log_w + std::log(sum / K);
  }
  objective.backward(0, out.wtilde, &out.dz);
}

}  // namespace gradest
