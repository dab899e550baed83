// The estimators made for categorical latents, on small categorical nodes with a table objective
// f_b(z) (any values; one per configuration of the k latents and data point b), in double:
// - indecater: with one latent the estimate is the exact gradient whatever the sample; with two
//   latents its exact mean (= the exact gradient) and variance by enumeration of the sample, and
//   a z-test of 20,000 estimates' mean and variance against them (Bonferroni, level 1e-4);
// - unordered-set: its weights against the definitions summed over every ordering (brute force);
//   its exact expectation, summed over every unordered set with its probability, equals the exact
//   gradient (and the same sum with plain normalised weights does not: the check can fail); with
//   S = C^k the estimate is the exact gradient; the stochastic beam search draws each unordered
//   set with its probability (chi-square, level 1e-6); samples above 12 or above C^k are refused.
#include <boost/math/distributions/chi_squared.hpp>
#include <catch2/catch.hpp>

#include <stdexcept>
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>
#include <numeric>

#include "core/errors.hpp"
#include "estimators/estimator.hpp"
#include "estimators/unordered_set.hpp"
#include "models/latent_family.hpp"
#include "tests/support.hpp"

namespace gradest {
namespace {

// f_b(z) = table(b, index of z), z one-hot categorical rows, index = sum_j c_j C^j. Records the
// configuration index of every row it evaluates.
class TableObjective final : public Objective {
 public:
  TableObjective(int C, Index k, MatrixD table) : C_(C), k_(k), table_(std::move(table)) {}
  Terms terms() const override { return Terms::toy; }
  Index batch() const override { return table_.rows(); }
  bool differentiable_in_z() const override { return false; }
  void backward(int, const Vector&, Matrix*) override {}
  void gradient_in_z(int, const Vector&, Matrix&) override {
    throw std::logic_error("TableObjective: not differentiable in z");
  }
  std::vector<std::uint64_t> evaluated;  // configuration indices, in row order, of the last evaluation

 protected:
  void do_evaluate(int, const Matrix& z, Vector& value) override {
    value.resize(z.rows());
    evaluated.assign(std::size_t(z.rows()), 0);
    for (Index r = 0; r < z.rows(); ++r) {
      std::uint64_t index = 0, radix = 1;
      for (Index j = 0; j < k_; ++j, radix *= std::uint64_t(C_))
        for (Index c = 0; c < C_; ++c)
          if (z(r, j * C_ + c) == 1) index += std::uint64_t(c) * radix;
      evaluated[std::size_t(r)] = index;
      value(r) = Real(table_(r % table_.rows(), Index(index)));
    }
  }

 private:
  int C_;
  Index k_;
  MatrixD table_;
};

struct Problem {
  int C;
  Index k, B;
  StochasticNode node;
  MatrixD table, log_q;  // B x C^k; B x k*C
  std::uint64_t configurations() const { return std::uint64_t(std::pow(C, double(k)) + 0.5); }
  // log q(configuration m | node_b)
  double log_p(Index b, std::uint64_t m) const {
    double sum = 0;
    for (Index j = 0; j < k; ++j, m /= std::uint64_t(C)) sum += log_q(b, j * C + Index(m % std::uint64_t(C)));
    return sum;
  }
};

Problem make_problem(int C, Index k, Index B, std::uint64_t seed) {
  Problem p{C, k, B, {}, {}, {}};
  const LatentFamily& family = latent_family(LatentKind::categorical, C);
  Rng rng = Rng::stream(seed, {stable_hash("categorical-estimators"), std::uint64_t(C), std::uint64_t(k)});
  Matrix logits(B, k * C);
  for (Index i = 0; i < logits.size(); ++i) logits(i) = Real(0.8 * rng.normal());
  family.node_from_encoder(logits, p.node);
  p.table.resize(B, Index(p.configurations()));
  for (Index i = 0; i < p.table.size(); ++i) p.table(i) = 2 * rng.normal() + 1;
  family.value_log_probs(p.node, p.log_q);
  return p;
}

// d/dlogits sum_b E_q[f_b] by enumeration.
MatrixD exact_gradient(const Problem& p) {
  NodeGradient grad;
  grad.reset_like(p.node);
  for (Index b = 0; b < p.B; ++b)
    for (std::uint64_t m = 0; m < p.configurations(); ++m)
      p.node.family->add_configuration_score(p.node, b, m, std::exp(p.log_p(b, m)) * p.table(b, Index(m)), grad);
  return grad.d_logits;
}

std::unique_ptr<Estimator> make(std::string_view name, int samples) {
  EstimatorOptions options;
  options.samples = samples;
  std::string error;
  auto estimator = make_estimator(name, options, LatentKind::categorical, &error);
  INFO(error);
  REQUIRE(estimator);
  return estimator;
}

MatrixD estimate_once(Estimator& estimator, const Problem& p, TableObjective& objective, Rng& rng) {
  NodeGradient grad;
  grad.reset_like(p.node);
  estimator.estimate(p.node, objective, rng, grad);
  return grad.d_logits;
}

// p^{D'}(T): the probability of drawing the unordered set T (probabilities t) without replacement
// from the domain without mass `removed`: the sum over T's orderings of prod_l t_l / (1 - removed -
// t(prefix)), written out from the definition (every permutation).
double unordered_probability(std::vector<double> t, double removed) {
  std::sort(t.begin(), t.end());
  double total = 0;
  do {
    double product = 1, prefix = removed;
    for (double x : t) product *= x / (1 - prefix), prefix += x;
    total += product;
  } while (std::next_permutation(t.begin(), t.end()));
  return total;
}

}  // namespace

TEST_CASE("indecater: with one latent the estimate is the exact gradient", "[estimators][categorical]") {
  for (int C : {3, 4, 5}) {
    const Problem p = make_problem(C, 1, 2, testing::seed());
    TableObjective objective(C, 1, p.table);
    auto estimator = make("indecater", 2);
    const MatrixD exact = exact_gradient(p);
    for (std::uint64_t draw = 0; draw < 3; ++draw) {
      Rng rng = Rng::stream(testing::seed(), {stable_hash("indecater-one"), draw});
      const MatrixD estimate = estimate_once(*estimator, p, objective, rng);
      CAPTURE(C, draw);
      CHECK((estimate - exact).cwiseAbs().maxCoeff() < 1e-12);
    }
    CHECK(objective.evaluations() == 3 * 2 * 1 * C * 2);  // draws x S x k x C x B
  }
}

TEST_CASE("indecater: exact mean and variance by enumeration, and a z-test of 20,000 estimates",
          "[estimators][categorical]") {
  const int C = 3;
  const Index k = 2, B = 2, N = 20000;
  const Problem p = make_problem(C, k, B, testing::seed());
  const MatrixD exact = exact_gradient(p);
  // The estimate at sample m, written out: g_bic' = q_i(c') (f(m, i = c') - sum_c q_i(c) f(m, i = c)).
  const auto with_value = [&](std::uint64_t m, Index i, int c) {
    const std::uint64_t radix = i == 0 ? 1 : std::uint64_t(C);
    return m - (m / radix % C) * radix + std::uint64_t(c) * radix;
  };
  MatrixD mean = MatrixD::Zero(B, k * C), second = mean, fourth = mean;
  std::vector<std::pair<double, MatrixD>> outcomes;  // (probability, estimate) per data point's sample
  for (std::uint64_t m0 = 0; m0 < p.configurations(); ++m0)
    for (std::uint64_t m1 = 0; m1 < p.configurations(); ++m1) {
      const std::uint64_t m[2] = {m0, m1};
      MatrixD g = MatrixD::Zero(B, k * C);
      for (Index b = 0; b < B; ++b)
        for (Index i = 0; i < k; ++i) {
          double average = 0;
          for (int c = 0; c < C; ++c) average += std::exp(p.log_q(b, i * C + c)) * p.table(b, Index(with_value(m[b], i, c)));
          for (int c = 0; c < C; ++c)
            g(b, i * C + c) = std::exp(p.log_q(b, i * C + c)) * (p.table(b, Index(with_value(m[b], i, c))) - average);
        }
      const double probability = std::exp(p.log_p(0, m0) + p.log_p(1, m1));
      mean += probability * g;
      outcomes.emplace_back(probability, g);
    }
  CHECK((mean - exact).cwiseAbs().maxCoeff() < 1e-12);  // the IndeCateR identity
  for (const auto& [probability, g] : outcomes) {
    second.array() += probability * (g - mean).array().square();
    fourth.array() += probability * (g - mean).array().pow(4);
  }
  TableObjective objective(C, k, p.table);
  auto estimator = make("indecater", 1);
  MatrixD sum = MatrixD::Zero(B, k * C), sum_sq = sum;
  for (Index draw = 0; draw < N; ++draw) {
    Rng rng = Rng::stream(testing::seed(), {stable_hash("indecater-two"), std::uint64_t(draw)});
    const MatrixD g = estimate_once(*estimator, p, objective, rng);
    sum += g;
    sum_sq.array() += (g - mean).array().square();
  }
  const double threshold = testing::bonferroni_z(1e-4, std::size_t(2 * sum.size()));
  double worst_mean = 0, worst_variance = 0;
  for (Index i = 0; i < sum.size(); ++i) {
    worst_mean = std::max(worst_mean, std::abs(sum(i) / N - mean(i)) / std::sqrt(second(i) / N));
    const double variance = sum_sq(i) / N;  // about the exact mean
    worst_variance = std::max(worst_variance, std::abs(variance - second(i)) / std::sqrt((fourth(i) - second(i) * second(i)) / N));
  }
  INFO(fmt::format("largest |z| of the mean {:.3f}, of the variance {:.3f}; threshold {:.3f}", worst_mean,
                   worst_variance, threshold));
  CHECK(worst_mean < threshold);
  CHECK(worst_variance < threshold);
}

TEST_CASE("unordered-set: weights equal their definitions summed over every ordering", "[estimators][categorical]") {
  Rng rng = Rng::stream(testing::seed(), {stable_hash("unordered-weights")});
  for (std::size_t S : {2, 3, 4, 5}) {
    for (double outside : {0.0, 0.3}) {
      std::vector<double> p(S);
      for (double& x : p) x = 0.05 + rng.uniform();
      const double scale = (1 - outside) / std::accumulate(p.begin(), p.end(), 0.0);
      for (double& x : p) x *= scale;
      std::vector<double> set_weight;
      MatrixD baseline_weight;
      UnorderedSet::weights(p, set_weight, baseline_weight);
      const auto without = [&](std::initializer_list<std::size_t> drop) {
        std::vector<double> t;
        for (std::size_t l = 0; l < S; ++l)
          if (std::find(drop.begin(), drop.end(), l) == drop.end()) t.push_back(p[l]);
        return t;
      };
      const double all = unordered_probability(p, 0);
      for (std::size_t i = 0; i < S; ++i) {
        const double first = unordered_probability(without({i}), p[i]);  // p^(D without i)(S without i)
        CAPTURE(S, outside, i);
        CHECK(set_weight[i] == Approx(p[i] * first / all).epsilon(1e-12));  // p_i R_i
        CHECK(baseline_weight(Index(i), Index(i)) == p[i]);
        for (std::size_t j = 0; j < S; ++j)
          if (j != i)
            CHECK(baseline_weight(Index(i), Index(j)) ==
                  Approx(p[j] * unordered_probability(without({i, j}), p[i] + p[j]) / first).epsilon(1e-12));
      }
    }
  }
}

TEST_CASE("unordered-set: weights stay finite when one configuration holds all but 1e-39 of the mass",
          "[estimators][categorical]") {
  // S = 12: p_0 = 1 - 11e-40 (1 in double), eleven configurations of 1e-40. The remaining masses in
  // the ordering sums are ~1e-39, ten factors of ~1e39 each (a double would overflow). In the limit
  // the weights tend to p: p_0 R_0 = p_0 / p(S) -> 1, and each small one's -> 1e-40.
  std::vector<double> p(12, 1e-40);
  p[0] = 1 - 11e-40;
  std::vector<double> set_weight;
  MatrixD baseline_weight;
  UnorderedSet::weights(p, set_weight, baseline_weight);
  CHECK(set_weight[0] == Approx(1).epsilon(1e-12));
  for (std::size_t i = 1; i < p.size(); ++i) CHECK(set_weight[i] / 1e-40 == Approx(1).epsilon(1e-6));
  REQUIRE(baseline_weight.allFinite());
  for (Index i = 0; i < baseline_weight.rows(); ++i) CHECK(baseline_weight.row(i).sum() == Approx(1).epsilon(1e-12));
}

TEST_CASE("unordered-set: its exact expectation over every unordered set is the exact gradient",
          "[estimators][categorical]") {
  struct Shape {
    int C;
    Index k;
    std::size_t S;
  };
  for (const Shape shape : {Shape{4, 1, 2}, Shape{4, 1, 3}, Shape{4, 1, 4}, Shape{3, 2, 2}, Shape{3, 2, 3}, Shape{3, 2, 5}}) {
    CAPTURE(shape.C, shape.k, shape.S);
    const Problem p = make_problem(shape.C, shape.k, 1, testing::seed());
    const MatrixD exact = exact_gradient(p);
    const std::size_t n = p.configurations();
    NodeGradient expected, naive;
    expected.reset_like(p.node);
    naive.reset_like(p.node);
    double total_probability = 0;
    std::vector<double> probability, set_weight;
    MatrixD baseline_weight;
    for (std::uint64_t mask = 0; mask < (std::uint64_t(1) << n); ++mask) {
      if (std::size_t(std::popcount(mask)) != shape.S) continue;
      std::vector<std::uint64_t> members;
      probability.clear();
      for (std::uint64_t m = 0; m < n; ++m)
        if (mask >> m & 1) members.push_back(m), probability.push_back(std::exp(p.log_p(0, m)));
      const double set_probability = unordered_probability(probability, 0);
      total_probability += set_probability;
      UnorderedSet::weights(probability, set_weight, baseline_weight);
      const double mass = std::accumulate(probability.begin(), probability.end(), 0.0);
      for (std::size_t i = 0; i < shape.S; ++i) {
        double baseline = 0;
        for (std::size_t j = 0; j < shape.S; ++j) baseline += baseline_weight(Index(i), Index(j)) * p.table(0, Index(members[j]));
        const double f = p.table(0, Index(members[i]));
        p.node.family->add_configuration_score(p.node, 0, members[i], set_probability * set_weight[i] * (f - baseline), expected);
        p.node.family->add_configuration_score(p.node, 0, members[i], set_probability * probability[i] / mass * f, naive);
      }
    }
    CHECK(total_probability == Approx(1).epsilon(1e-12));
    CHECK((expected.d_logits - exact).cwiseAbs().maxCoeff() < 1e-12);
    if (shape.S < n) CHECK((naive.d_logits - exact).cwiseAbs().maxCoeff() > 1e-3);  // plain normalised weights: biased
  }
}

TEST_CASE("unordered-set: with S = C^k the estimate is the exact gradient", "[estimators][categorical]") {
  for (const auto& [C, k] : {std::pair{4, Index(1)}, std::pair{3, Index(2)}}) {
    const Problem p = make_problem(C, k, 2, testing::seed());
    TableObjective objective(C, k, p.table);
    auto estimator = make("unordered-set", int(p.configurations()));
    Rng rng = Rng::stream(testing::seed(), {stable_hash("unordered-all")});
    CAPTURE(C, k);
    CHECK((estimate_once(*estimator, p, objective, rng) - exact_gradient(p)).cwiseAbs().maxCoeff() < 1e-12);
  }
}

TEST_CASE("unordered-set: stochastic beam search draws each unordered set with its probability (chi-square)",
          "[estimators][categorical]") {
  const int C = 3;
  const Index k = 2, B = 2, N = 20000;
  const std::size_t S = 3;
  const Problem p = make_problem(C, k, B, testing::seed());
  TableObjective objective(C, k, p.table);
  auto estimator = make("unordered-set", int(S));
  std::vector<std::map<std::uint64_t, double>> observed(B);  // set (bit mask) -> count
  for (Index draw = 0; draw < N; ++draw) {
    Rng rng = Rng::stream(testing::seed(), {stable_hash("unordered-sets"), std::uint64_t(draw)});
    estimate_once(*estimator, p, objective, rng);
    for (Index b = 0; b < B; ++b) {
      std::uint64_t mask = 0;
      for (std::size_t s = 0; s < S; ++s) mask |= std::uint64_t(1) << objective.evaluated[s * std::size_t(B) + std::size_t(b)];
      REQUIRE(std::popcount(mask) == int(S));  // distinct
      observed[std::size_t(b)][mask] += 1;
    }
  }
  for (Index b = 0; b < B; ++b) {
    // Sets expected fewer than 5 times share one pooled bin.
    double statistic = 0, pooled_expected = 0, pooled_observed = 0;
    int bins = 0;
    for (std::uint64_t mask = 0; mask < (std::uint64_t(1) << p.configurations()); ++mask) {
      if (std::size_t(std::popcount(mask)) != S) continue;
      std::vector<double> probability;
      for (std::uint64_t m = 0; m < p.configurations(); ++m)
        if (mask >> m & 1) probability.push_back(std::exp(p.log_p(b, m)));
      const double expected = double(N) * unordered_probability(probability, 0);
      const double seen = observed[std::size_t(b)].count(mask) ? observed[std::size_t(b)][mask] : 0;
      if (expected < 5) {
        pooled_expected += expected, pooled_observed += seen;
      } else {
        statistic += (seen - expected) * (seen - expected) / expected, ++bins;
      }
    }
    if (pooled_expected > 0)
      statistic += (pooled_observed - pooled_expected) * (pooled_observed - pooled_expected) / pooled_expected, ++bins;
    const boost::math::chi_squared chi2(bins - 1);
    const double critical = boost::math::quantile(boost::math::complement(chi2, 1e-6 / double(B)));
    INFO(fmt::format("data point {}: chi-square {:.2f} on {} bins, critical {:.2f}", b, statistic, bins, critical));
    CHECK(statistic < critical);
  }
}

TEST_CASE("unordered-set: refuses samples above 12 and above C^k in one line", "[estimators][categorical]") {
  EstimatorOptions options;
  options.samples = 13;
  std::string error;
  CHECK_FALSE(make_estimator("unordered-set", options, LatentKind::categorical, &error));
  CHECK(error == "estimator 'unordered-set' needs samples <= 12, got 13");
  options.samples = 1;
  CHECK_FALSE(make_estimator("unordered-set", options, LatentKind::categorical, &error));
  CHECK(error == "estimator 'unordered-set' needs samples >= 2, got 1");
  const Problem p = make_problem(3, 1, 1, testing::seed());
  TableObjective objective(3, 1, p.table);
  auto estimator = make("unordered-set", 4);
  Rng rng(1);
  NodeGradient grad;
  grad.reset_like(p.node);
  CHECK_THROWS_WITH(estimator->estimate(p.node, objective, rng, grad),
                    "unordered-set needs samples <= 3^1 = 3 (the distinct configurations), got 4");
}

}  // namespace gradest
