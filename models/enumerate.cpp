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

void require_bernoulli(const StochasticNode& node, Index bits, const char* what) {
  if (node.family->support_size() != 2)
    throw std::invalid_argument(fmt::format("{}: needs binary latents, got {}", what, node.family->name()));
  if (bits > kMaxEnumeratedBits)
    throw std::invalid_argument(fmt::format("{}: enumeration over 2^{} configurations refused; needs at most 2^{}",
                                            what, bits, kMaxEnumeratedBits));
}

// d/dlogits of log q(z_c) for data point b, added with coefficient `coeff`.
void add_score(const StochasticNode& node, Index b, std::uint64_t c, double coeff, NodeGradient& grad) {
  for (Index j = 0; j < node.dim(); ++j) {
    const double zj = double((c >> j) & 1u);
    grad.d_logits(b, j) += Real(coeff * (zj - sigmoid(double(node.logits(b, j)))));
  }
}

}  // namespace

void enumerate_configurations(Index k, Index batch, std::uint64_t first, std::uint64_t count, Matrix& z) {
  z.resize(Index(count) * batch, k);
  for (std::uint64_t i = 0; i < count; ++i)
    for (Index j = 0; j < k; ++j) {
      const Real bit = Real(((first + i) >> j) & 1u);
      for (Index b = 0; b < batch; ++b) z(Index(i) * batch + b, j) = bit;
    }
}

VectorD exact_bernoulli_expectation(const StochasticNode& node, Objective& objective, NodeGradient* node_grad,
                                    bool objective_gradient) {
  const Index k = node.dim(), B = node.batch();
  require_bernoulli(node, k, "exact expectation");
  const std::uint64_t total = std::uint64_t{1} << k;
  const std::uint64_t chunk =
      std::max<std::uint64_t>(1, std::min<std::uint64_t>(total, (1u << 16) / std::max<Index>(B, 1)));
  VectorD expectation = VectorD::Zero(B);
  Matrix z;
  Vector value, log_q, weight;
  for (std::uint64_t first = 0; first < total; first += chunk) {
    const std::uint64_t count = std::min(chunk, total - first);
    enumerate_configurations(k, B, first, count, z);
    objective.evaluate(0, z, value);
    log_prob(node, z, log_q);
    weight.resize(z.rows());
    for (Index r = 0; r < z.rows(); ++r) {
      const double q = std::exp(double(log_q(r)));
      weight(r) = Real(q);
      expectation(r % B) += q * double(value(r));
      if (node_grad) add_score(node, r % B, first + std::uint64_t(r / B), q * double(value(r)), *node_grad);
    }
    if (objective_gradient) objective.backward(0, weight, nullptr);
  }
  return expectation;
}

VectorD exact_bernoulli_importance_bound(const StochasticNode& node, Objective& objective, int K,
                                         NodeGradient* node_grad, bool objective_gradient) {
  const Index k = node.dim(), B = node.batch();
  if (K < 1) throw std::invalid_argument(fmt::format("exact importance bound: K must be >= 1, got {}", K));
  require_bernoulli(node, k * K, "exact importance bound");
  const std::uint64_t configs = std::uint64_t{1} << k;
  Matrix z;
  Vector value, log_q;
  enumerate_configurations(k, B, 0, configs, z);
  objective.evaluate(0, z, value);
  log_prob(node, z, log_q);

  VectorD bound = VectorD::Zero(B);
  Vector objective_weight = Vector::Zero(z.rows());
  std::vector<double> log_weight(configs), lq(configs), node_coeff(configs), obj_coeff(configs);
  std::vector<std::uint64_t> tuple(K);
  std::vector<double> normalised(K);
  const std::uint64_t tuples = std::uint64_t{1} << (k * K);
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
        tuple[i] = (t >> (k * i)) & (configs - 1);
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
      if (node_grad) add_score(node, b, c, node_coeff[c], *node_grad);
      objective_weight(Index(c) * B + b) = Real(obj_coeff[c]);
    }
  }
  if (objective_gradient) objective.backward(0, objective_weight, nullptr);
  return bound;
}

}  // namespace gradest
