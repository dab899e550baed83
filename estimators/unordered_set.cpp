#include "estimators/unordered_set.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>

#include "core/errors.hpp"
#include "models/latent_family.hpp"

namespace gradest {

const EstimatorInfo UnorderedSet::kInfo{
    .name = "unordered-set",
    .summary = "unordered set estimator, S distinct configurations, built-in baseline (Kool et al. 2020)",
    .formula = "sum_i p_i R_i grad log p(s_i) (f_i - b_i), s_1..s_S without replacement",
    .target = Target::expectation,
    .unbiased = true,
    .families = {LatentKind::bernoulli, LatentKind::categorical},
    .needs_dz = false,
    .min_samples = 2,
    .max_samples = 12,
    .cost = "S",
};

namespace {

// Partial configurations of the first latents: entry e has values[e k ..), log-probability phi
// and perturbed log-probability gumbel (the maximum over its completions).
struct Beam {
  std::vector<int> values;
  std::vector<double> phi, gumbel;
  Index size = 0;
};
struct Candidate {
  double phi, gumbel;
  Index parent;
  int value;
};

// A Gumbel with location phi (drawn as g) conditioned on its siblings' maximum being T, given the
// siblings' unconditioned maximum Z (Kool et al. 2019, eq. 23, in the stable form of their code).
double truncated_gumbel(double T, double g, double Z) {
  if (g >= Z) return T;
  const double v = T - g + std::log1p(-std::exp(g - Z));
  return T - std::max(v, 0.0) - std::log1p(std::exp(-std::abs(v)));
}

// Stochastic beam search over the k latents of data point b: beam ends with S configurations
// drawn without replacement from prod_j q_j (C^k >= S), in decreasing order of their Gumbels.
void stochastic_beam_search(const MatrixD& log_q, Index b, Index k, int C, int S, Rng& rng, Beam& beam) {
  beam.size = 1;
  beam.values.assign(std::size_t(k), 0);
  beam.phi.assign(1, 0.0);
  beam.gumbel.assign(1, 0.0);
  std::vector<Candidate> candidates;
  Beam next;
  for (Index j = 0; j < k; ++j) {
    candidates.clear();
    for (Index parent = 0; parent < beam.size; ++parent) {
      const std::size_t first = candidates.size();
      double Z = -INFINITY;
      for (int c = 0; c < C; ++c) {
        const double phi = beam.phi[std::size_t(parent)] + log_q(b, j * C + c);
        const double g = phi - std::log(-std::log(rng.uniform_open()));
        candidates.push_back({phi, g, parent, c});
        Z = std::max(Z, g);
      }
      for (std::size_t t = first; t < candidates.size(); ++t)
        candidates[t].gumbel = truncated_gumbel(beam.gumbel[std::size_t(parent)], candidates[t].gumbel, Z);
    }
    const std::size_t keep = std::min(std::size_t(S), candidates.size());
    std::partial_sort(candidates.begin(), candidates.begin() + std::ptrdiff_t(keep), candidates.end(),
                      [](const Candidate& x, const Candidate& y) {
                        return x.gumbel > y.gumbel ||
                               (x.gumbel == y.gumbel && (x.parent < y.parent || (x.parent == y.parent && x.value < y.value)));
                      });
    next.size = Index(keep);
    next.values.resize(keep * std::size_t(k));
    next.phi.resize(keep);
    next.gumbel.resize(keep);
    for (std::size_t t = 0; t < keep; ++t) {
      const Candidate& chosen = candidates[t];
      std::copy_n(beam.values.begin() + std::ptrdiff_t(chosen.parent * k), k, next.values.begin() + std::ptrdiff_t(t * k));
      next.values[t * std::size_t(k) + std::size_t(j)] = chosen.value;
      next.phi[t] = chosen.phi;
      next.gumbel[t] = chosen.gumbel;
    }
    std::swap(beam, next);
  }
}

// The number of configurations of k latents with C values, saturated at `cap`.
std::uint64_t configurations(int C, Index k, std::uint64_t cap) {
  std::uint64_t count = 1;
  for (Index j = 0; j < k && count < cap; ++j) count *= std::uint64_t(C);
  return count;
}

}  // namespace

void UnorderedSet::weights(const std::vector<double>& p, std::vector<double>& set_weight, MatrixD& baseline_weight) {
  // G[U] = A(S \ U; p(U)) for every subset U of S (bit l = s_l), from the supersets down:
  //   G[S] = 1,  G[U] = (1 / r(U)) sum_{x not in U} G[U + x],  r(U) = p(S \ U) + (1 - p(S)),
  // the remaining mass once U is drawn. Then A1_i = G[{i}] and A2_ij = G[{i, j}]. In long double:
  // the S - 2 factors 1 / r can each be ~1e40 when one configuration holds all but ~1e-40 of the
  // mass, and their product would overflow a double.
  const std::size_t S = p.size(), full = (std::size_t(1) << S) - 1;
  std::vector<long double> mass(full + 1, 0.0L), G(full + 1, 0.0L);
  for (std::size_t mask = 1; mask <= full; ++mask) mass[mask] = mass[mask & (mask - 1)] + p[std::size_t(std::countr_zero(mask))];
  const long double outside = std::max(0.0L, 1.0L - mass[full]);
  G[full] = 1;
  for (std::size_t mask = full; mask-- > 1;) {
    long double next = 0;
    for (std::size_t absent = full ^ mask; absent; absent &= absent - 1) next += G[mask | (absent & (~absent + 1))];
    G[mask] = next / (mass[full ^ mask] + outside);
  }
  long double first_total = 0;
  for (std::size_t i = 0; i < S; ++i) first_total += G[std::size_t(1) << i];
  set_weight.resize(S);
  baseline_weight.resize(Index(S), Index(S));
  for (std::size_t i = 0; i < S; ++i) {
    const long double first = G[std::size_t(1) << i];
    set_weight[i] = double(first / first_total);
    for (std::size_t j = 0; j < S; ++j)
      baseline_weight(Index(i), Index(j)) = j == i ? p[i] : double(G[(std::size_t(1) << i) | (std::size_t(1) << j)] / first);
  }
}

void UnorderedSet::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  const LatentFamily& family = *node.family;
  const int S = options_.samples, C = family.support_size();
  const Index B = node.batch(), k = node.dim();
  if (configurations(C, k, std::uint64_t(S)) < std::uint64_t(S))
    throw ConfigError(fmt::format("unordered-set needs samples <= {}^{} = {} (the distinct configurations), got {}", C,
                                  k, configurations(C, k, std::uint64_t(S)), S));
  family.value_log_probs(node, log_q_);
  z_.setZero(Index(S) * B, family.sample_columns(k));
  log_p_.resize(std::size_t(S * B));
  Beam beam;
  for (Index b = 0; b < B; ++b) {
    stochastic_beam_search(log_q_, b, k, C, S, rng, beam);
    for (Index s = 0; s < S; ++s) {
      for (Index j = 0; j < k; ++j) family.set_value(z_, s * B + b, j, beam.values[std::size_t(s * k + j)]);
      log_p_[std::size_t(s * B + b)] = beam.phi[std::size_t(s)];
    }
  }
  objective.evaluate(0, z_, value_);
  weight_.resize(Index(S) * B);
  score_weight_.resize(Index(S) * B);
  p_.resize(std::size_t(S));
  for (Index b = 0; b < B; ++b) {
    for (Index s = 0; s < S; ++s) p_[std::size_t(s)] = std::exp(log_p_[std::size_t(s * B + b)]);
    weights(p_, set_weight_, baseline_weight_);
    for (Index i = 0; i < S; ++i) {
      double baseline = 0;
      for (Index j = 0; j < S; ++j) baseline += baseline_weight_(i, j) * double(value_(j * B + b));
      weight_(i * B + b) = Real(set_weight_[std::size_t(i)]);
      score_weight_(i * B + b) = Real(set_weight_[std::size_t(i)] * (double(value_(i * B + b)) - baseline));
    }
  }
  objective.backward(0, weight_, nullptr);
  family.accumulate_score(node, z_, score_weight_, grad);
}

}  // namespace gradest
