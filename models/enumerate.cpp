#include "models/enumerate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "models/distributions.hpp"
#include "models/latent_family.hpp"

namespace gradest {
namespace {

// The number of configurations of `latents` latents (C^latents), refusing more than 2^16.
std::uint64_t require_enumerable(const StochasticNode& node, Index latents, const char* what) {
  const int C = node.family->support_size();
  if (C < 2)
    throw std::invalid_argument(fmt::format("{}: needs enumerable latents, got {}", what, node.family->name()));
  const std::uint64_t count = configuration_count(*node.family, latents);
  if (count == 0) {
    if (C == 2)
      throw std::invalid_argument(fmt::format("{}: enumeration over 2^{} configurations refused; needs at most 2^{}",
                                              what, latents, kMaxEnumeratedBits));
    throw std::invalid_argument(fmt::format("{}: enumeration over {}^{} configurations refused; needs at most 2^{}",
                                            what, C, latents, kMaxEnumeratedBits));
  }
  return count;
}

}  // namespace

std::uint64_t configuration_count(const LatentFamily& family, Index k) {
  const int C = family.support_size();
  if (C < 2 || k < 0) return 0;
  std::uint64_t count = 1;
  for (Index j = 0; j < k; ++j) {
    count *= std::uint64_t(C);
    if (count > kMaxEnumerated) return 0;
  }
  return count;
}

void enumerate_configurations(Index k, Index batch, std::uint64_t first, std::uint64_t count, Matrix& z) {
  enumerate_configurations(latent_family(LatentKind::bernoulli), k, batch, first, count, z);
}

void enumerate_configurations(const LatentFamily& family, Index k, Index batch, std::uint64_t first,
                              std::uint64_t count, Matrix& z) {
  const Index columns = family.sample_columns(k);
  z.resize(Index(count) * batch, columns);
  std::vector<Real> row(static_cast<std::size_t>(columns));
  for (std::uint64_t i = 0; i < count; ++i) {
    family.configuration(first + i, k, row.data());
    for (Index j = 0; j < columns; ++j)
      for (Index b = 0; b < batch; ++b) z(Index(i) * batch + b, j) = row[std::size_t(j)];
  }
}

VectorD exact_enumerated_expectation(const StochasticNode& node, Objective& objective, NodeGradient* node_grad,
                                     bool objective_gradient) {
  const Index k = node.dim(), B = node.batch();
  const std::uint64_t total = require_enumerable(node, k, "exact expectation");
  const std::uint64_t chunk =
      std::max<std::uint64_t>(1, std::min<std::uint64_t>(total, (1u << 16) / std::max<Index>(B, 1)));
  VectorD expectation = VectorD::Zero(B);
  Matrix z;
  Vector value, log_q, weight;
  for (std::uint64_t first = 0; first < total; first += chunk) {
    const std::uint64_t count = std::min(chunk, total - first);
    enumerate_configurations(*node.family, k, B, first, count, z);
    objective.evaluate(0, z, value);
    log_prob(node, z, log_q);
    weight.resize(z.rows());
    for (Index r = 0; r < z.rows(); ++r) {
      const double q = std::exp(double(log_q(r)));
      weight(r) = Real(q);
      expectation(r % B) += q * double(value(r));
      if (node_grad)
        node.family->add_configuration_score(node, r % B, first + std::uint64_t(r / B), q * double(value(r)),
                                             *node_grad);
    }
    if (objective_gradient) objective.backward(0, weight, nullptr);
  }
  return expectation;
}

VectorD exact_enumerated_importance_bound(const StochasticNode& node, Objective& objective, int K,
                                          NodeGradient* node_grad, bool objective_gradient) {
  const Index k = node.dim(), B = node.batch();
  if (K < 1) throw std::invalid_argument(fmt::format("exact importance bound: K must be >= 1, got {}", K));
  const std::uint64_t tuples = require_enumerable(node, k * K, "exact importance bound");
  const std::uint64_t configs = configuration_count(*node.family, k);
  Matrix z;
  Vector value, log_q;
  enumerate_configurations(*node.family, k, B, 0, configs, z);
  objective.evaluate(0, z, value);
  log_prob(node, z, log_q);

  VectorD bound = VectorD::Zero(B);
  Vector objective_weight = Vector::Zero(z.rows());
  std::vector<double> log_weight(configs), lq(configs), node_coeff(configs), obj_coeff(configs);
  std::vector<std::uint64_t> tuple(K), power(K, 1);  // power[i] = configs^i
  for (int i = 1; i < K; ++i) power[std::size_t(i)] = power[std::size_t(i - 1)] * configs;
  std::vector<double> normalised(K);
  for (Index b = 0; b < B; ++b) {
    for (std::uint64_t c = 0; c < configs; ++c) {
      lq[c] = double(log_q(Index(c) * B + b));
      log_weight[c] = double(value(Index(c) * B + b)) - lq[c];
    }
    std::fill(node_coeff.begin(), node_coeff.end(), 0.0);
    std::fill(obj_coeff.begin(), obj_coeff.end(), 0.0);
    for (std::uint64_t t = 0; t < tuples; ++t) {
      double log_prob_tuple = 0, max_lw = -INFINITY;
      for (int i = 0; i < K; ++i) {
        tuple[i] = (t / power[std::size_t(i)]) % configs;
        log_prob_tuple += lq[tuple[i]];
        max_lw = std::max(max_lw, log_weight[tuple[i]]);
      }
      double sum = 0;
      for (int i = 0; i < K; ++i) sum += (normalised[i] = std::exp(log_weight[tuple[i]] - max_lw));
      const double L = max_lw + std::log(sum / K), p = std::exp(log_prob_tuple);
      bound(b) += p * L;
      for (int i = 0; i < K; ++i) {
        normalised[i] /= sum;
        node_coeff[tuple[i]] += p * (L - normalised[i]);
        obj_coeff[tuple[i]] += p * normalised[i];
      }
    }
    for (std::uint64_t c = 0; c < configs; ++c) {
      if (node_grad) node.family->add_configuration_score(node, b, c, node_coeff[c], *node_grad);
      objective_weight(Index(c) * B + b) = Real(obj_coeff[c]);
    }
  }
  if (objective_gradient) objective.backward(0, objective_weight, nullptr);
  return bound;
}

}  // namespace gradest
