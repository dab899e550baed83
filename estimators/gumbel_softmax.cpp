#include "estimators/gumbel_softmax.hpp"

#include <cmath>
#include <stdexcept>

#include "estimators/monte_carlo.hpp"
#include "models/distributions.hpp"

namespace gradest {

const EstimatorInfo GumbelSoftmax::kInfo{
    .name = "gumbel-softmax",
    .summary = "binary Concrete relaxation, pathwise (Maddison et al. 2017; Jang et al. 2017); BIASED",
    .formula = "df/dz(z~) z~(1-z~)/tau, z~ = sig((th + log u - log(1-u))/tau)",
    .target = Target::expectation,
    .unbiased = false,
    .families = {LatentKind::bernoulli},
    .needs_dz = true,
    .min_samples = 1,
    .cost = "S",
};

void GumbelSoftmax::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  if (!objective.differentiable_in_z())
    throw std::invalid_argument("gumbel-softmax needs an objective differentiable in z (a relaxed decoder)");
  const int S = options_.samples;
  const Index B = node.batch(), k = node.dim(), rows = Index(S) * B;
  const double tau = options_.real(kTemperature);
  u_.resize(rows, k);
  rng.fill_uniform_open(u_);
  z_.resize(rows, k);
  for (Index j = 0; j < k; ++j)
    for (Index r = 0; r < rows; ++r) {
      const double logistic = std::log(double(u_(r, j))) - std::log1p(-double(u_(r, j)));
      z_(r, j) = Real(sigmoid((double(node.logits(r % B, j)) + logistic) / tau));
    }
  evaluate_with_plain_gradient(objective, z_, S, value_, weight_, &dz_);
  for (Index j = 0; j < k; ++j)
    for (Index r = 0; r < rows; ++r) grad.d_logits(r % B, j) += dz_(r, j) * z_(r, j) * (Real(1) - z_(r, j)) / Real(tau);
}

}  // namespace gradest
