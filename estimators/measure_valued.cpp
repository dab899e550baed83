#include "estimators/measure_valued.hpp"

#include <cmath>
#include <numbers>

#include "estimators/monte_carlo.hpp"
#include "models/distributions.hpp"

namespace gradest {

const EstimatorInfo MeasureValued::kInfo{
    .name = "measure-valued",
    .summary = "measure-valued gradient (weak derivative: Weibull / double-sided Maxwell), coupled pairs (Mohamed et al. 2020)",
    .formula = "c (f(p+) - f(p-)) per latent and parameter, other latents at z ~ q",
    .target = Target::expectation,
    .unbiased = true,
    .families = {LatentKind::gaussian},
    .needs_dz = false,
    .min_samples = 1,
    .cost = "S(1+4k)",
};

const EstimatorInfo MeasureValuedUncoupled::kInfo{
    .name = "measure-valued-uncoupled",
    .summary = "measure-valued gradient with independent positive and negative parts (Mohamed et al. 2020)",
    .formula = "c (f(p+) - f(p-)), p+ and p- independent",
    .target = Target::expectation,
    .unbiased = true,
    .families = {LatentKind::gaussian},
    .needs_dz = false,
    .min_samples = 1,
    .cost = "S(1+4k)",
};

void MeasureValued::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  const int S = options_.samples;
  const Index B = node.batch(), k = node.dim(), rows = Index(S) * B;
  // Base samples z ~ q: the decoder's plain gradient, and the other latents of every pair.
  sample_node(node, S, rng, z_, eps_);
  evaluate_with_plain_gradient(objective, z_, S, value_, weight_, nullptr);
  // Four blocks of points per latent j: [mu+ | mu- | sigma+ | sigma-], each S*B rows, evaluated at once.
  points_.resize(4 * rows, k);
  noise_.resize(4 * rows, 1);
  for (Index j = 0; j < k; ++j) {
    for (int b = 0; b < 4; ++b) points_.middleRows(b * rows, rows) = z_;
    for (Index r = 0; r < rows; ++r) {
      const Index i = r % B;
      const double mu = node.mean(i, j), sigma = std::exp(0.5 * double(node.log_var(i, j)));
      const double w_plus = std::sqrt(-2 * std::log(rng.uniform_open()));
      const double w_minus = coupled_ ? w_plus : std::sqrt(-2 * std::log(rng.uniform_open()));
      const double g1 = rng.normal(), g2 = rng.normal(), g3 = rng.normal();
      const double magnitude = std::sqrt(g1 * g1 + g2 * g2 + g3 * g3);
      const double maxwell = (coupled_ ? (g1 < 0) : rng.bernoulli(0.5)) ? -magnitude : magnitude;
      const double normal = coupled_ ? g1 : rng.normal();
      points_(r, j) = Real(mu + sigma * w_plus);
      points_(rows + r, j) = Real(mu - sigma * w_minus);
      points_(2 * rows + r, j) = Real(mu + sigma * maxwell);
      points_(3 * rows + r, j) = Real(mu + sigma * normal);
    }
    objective.evaluate(1, points_, value_);
    for (Index r = 0; r < rows; ++r) {
      const Index i = r % B;
      const double sigma = std::exp(0.5 * double(node.log_var(i, j)));
      const double d_mu = (double(value_(r)) - double(value_(rows + r))) / (sigma * std::sqrt(2 * std::numbers::pi));
      const double d_log_var = 0.5 * (double(value_(2 * rows + r)) - double(value_(3 * rows + r)));
      grad.d_mean(i, j) += Real(d_mu / S);
      grad.d_log_var(i, j) += Real(d_log_var / S);
    }
  }
}

}  // namespace gradest
