// The latent families (models/latent_family.hpp) in double precision, each against an independent
// answer:
// - the score accumulate_score equals finite differences of log_prob (Bernoulli, Gaussian,
//   categorical);
// - the analytic KL equals the exact sum over the support (Bernoulli, categorical), its gradient
//   (node and prior parameters) equals finite differences of the KL;
// - log p(z) and its gradient (prior parameters and z) equal finite differences;
// - categorical sampling: a chi-square test of the sampled frequencies against q (level 1e-6);
// - enumeration of a categorical node against a brute-force sum written out here, its exact
//   gradient against finite differences, and the same check catching a wrong score (shown to fail).
#include <fmt/format.h>

#include <boost/math/distributions/chi_squared.hpp>
#include <catch2/catch.hpp>
#include <cmath>

#include "models/distributions.hpp"
#include "models/enumerate.hpp"
#include "models/latent_family.hpp"
#include "tests/bernoulli_problem.hpp"
#include "tests/gradient_check.hpp"
#include "tests/support.hpp"

namespace gradest {
namespace {

constexpr int kCategories = 3;

// A node of `family` with B data points and k latents, parameters drawn from N(0, 1).
StochasticNode random_node(const LatentFamily& family, Index B, Index k, std::uint64_t seed) {
  Rng rng = Rng::stream(seed, {stable_hash("family-node")});
  Matrix encoder_out(B, family.encoder_outputs(k));
  for (Index i = 0; i < encoder_out.size(); ++i) encoder_out(i) = Real(rng.normal());
  StochasticNode node;
  family.node_from_encoder(encoder_out, node);
  return node;
}

Vector random_prior(const LatentFamily& family, Index k, std::uint64_t seed) {
  Rng rng = Rng::stream(seed, {stable_hash("family-prior")});
  Vector a(family.prior_parameters(k));
  for (Index i = 0; i < a.size(); ++i) a(i) = Real(0.7 * rng.normal());
  return a;
}

// The node's parameters as one vector view (logits, or mean then log-variance).
std::vector<Matrix*> parameters(StochasticNode& node) {
  if (node.logits.size() > 0) return {&node.logits};
  return {&node.mean, &node.log_var};
}
std::vector<Matrix*> parameters(NodeGradient& grad) {
  if (grad.d_logits.size() > 0) return {&grad.d_logits};
  return {&grad.d_mean, &grad.d_log_var};
}

void check_node_gradient(StochasticNode& node, NodeGradient& analytic, const std::function<double()>& f) {
  auto values = parameters(node);
  auto grads = parameters(analytic);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto result = testing::check_gradient(values[i]->data(), values[i]->size(), f, grads[i]->data());
    INFO(result.describe());
    CHECK(result.passed);
  }
}

const LatentFamily& family_for(LatentKind kind) { return latent_family(kind, kCategories); }

}  // namespace

TEST_CASE("latent families: the score is the gradient of log q", "[families][gradient]") {
  for (LatentKind kind : kLatentKinds) {
    const LatentFamily& family = family_for(kind);
    INFO(family.name());
    const Index B = 2, k = 2, S = 3;
    StochasticNode node = random_node(family, B, k, testing::seed());
    Rng rng = Rng::stream(testing::seed(), {stable_hash("score-samples")});
    Matrix z, noise;
    family.sample(node, S, rng, z, noise);
    Vector weight(z.rows());
    for (Index r = 0; r < weight.size(); ++r) weight(r) = Real(0.5 + 0.25 * double(r));
    NodeGradient grad;
    grad.reset_like(node);
    family.accumulate_score(node, z, weight, grad);
    Vector log_q;
    check_node_gradient(node, grad, [&] {
      family.log_prob(node, z, log_q);
      return double(log_q.dot(weight));
    });
  }
}

TEST_CASE("latent families: analytic KL equals the exact sum over the support, and its gradient",
          "[families][gradient]") {
  for (LatentKind kind : kLatentKinds) {
    const LatentFamily& family = family_for(kind);
    INFO(family.name());
    const Index B = 2, k = 2;
    StochasticNode node = random_node(family, B, k, testing::seed());
    Vector a = random_prior(family, k, testing::seed());
    Matrix kl, scratch;
    family.kl(node, ConstVectorMap(a.data(), a.size()), kl, scratch);
    if (family.enumerable()) {
      // Per latent j: sum over its values of q log(q / p), from log_prob and add_log_prior of
      // one-latent configurations (the other latents fixed at configuration 0).
      const std::uint64_t count = configuration_count(family, k);
      Matrix all;
      enumerate_configurations(family, k, B, 0, count, all);
      Vector log_q;
      family.log_prob(node, all, log_q);
      VectorD log_p = VectorD::Zero(all.rows());
      family.add_log_prior(ConstVectorMap(a.data(), a.size()), all, log_p);
      for (Index b = 0; b < B; ++b) {
        double total = 0;
        for (std::uint64_t c = 0; c < count; ++c) {
          const Index r = Index(c) * B + b;
          total += std::exp(double(log_q(r))) * (double(log_q(r)) - log_p(r));
        }
        CHECK(kl.row(b).sum() == Approx(total).epsilon(1e-12));  // KL of independent latents adds up
      }
    }
    Matrix weight(B, k);
    for (Index i = 0; i < weight.size(); ++i) weight(i) = Real(0.3 + 0.2 * double(i));
    NodeGradient grad;
    grad.reset_like(node);
    Vector d_a = Vector::Zero(a.size());
    family.kl_backward(node, ConstVectorMap(a.data(), a.size()), weight, grad, VectorMap(d_a.data(), d_a.size()),
                       scratch);
    auto minus_weighted_kl = [&] {
      Matrix value, s;
      family.kl(node, ConstVectorMap(a.data(), a.size()), value, s);
      return -double((value.array() * weight.array()).sum());
    };
    check_node_gradient(node, grad, minus_weighted_kl);
    if (a.size() > 0) {
      const auto result = testing::check_gradient(a.data(), a.size(), minus_weighted_kl, d_a.data());
      INFO(result.describe());
      CHECK(result.passed);
    }
  }
}

TEST_CASE("latent families: log p(z) and its gradient in the prior parameters and in z", "[families][gradient]") {
  for (LatentKind kind : kLatentKinds) {
    const LatentFamily& family = family_for(kind);
    INFO(family.name());
    const Index k = 2, n = 5;
    Vector a = random_prior(family, k, testing::seed());
    Rng rng = Rng::stream(testing::seed(), {stable_hash("prior-samples")});
    Matrix z;
    family.sample_prior(ConstVectorMap(a.data(), a.size()), n, k, rng, z);
    REQUIRE(z.cols() == family.sample_columns(k));
    Vector weight(n);
    for (Index r = 0; r < n; ++r) weight(r) = Real(1.0 + 0.1 * double(r));
    Vector d_a = Vector::Zero(a.size());
    Matrix grad_z = Matrix::Zero(n, z.cols());
    family.log_prior_backward(ConstVectorMap(a.data(), a.size()), z, weight, VectorMap(d_a.data(), d_a.size()),
                              &grad_z);
    auto weighted_log_prior = [&] {
      VectorD acc = VectorD::Zero(n);
      family.add_log_prior(ConstVectorMap(a.data(), a.size()), z, acc);
      return acc.dot(weight.cast<double>());
    };
    if (a.size() > 0) {
      const auto result = testing::check_gradient(a.data(), a.size(), weighted_log_prior, d_a.data());
      INFO(result.describe());
      CHECK(result.passed);
    }
    const auto result = testing::check_gradient(z.data(), z.size(), weighted_log_prior, grad_z.data());
    INFO(result.describe());
    CHECK(result.passed);
  }
}

TEST_CASE("categorical latents: sampled frequencies match q (chi-square, level 1e-6)", "[families]") {
  const LatentFamily& family = latent_family(LatentKind::categorical, 4);
  const Index B = 2, k = 3, S = 20000;
  StochasticNode node = random_node(family, B, k, testing::seed());
  Matrix q;
  family.posterior_mean(node, q);
  Rng rng = Rng::stream(testing::seed(), {stable_hash("categorical-frequencies")});
  Matrix z, noise;
  family.sample(node, int(S), rng, z, noise);
  REQUIRE(z.cols() == k * 4);
  boost::math::chi_squared chi2(3);
  const double critical = boost::math::quantile(boost::math::complement(chi2, 1e-6 / double(B * k)));
  for (Index b = 0; b < B; ++b)
    for (Index j = 0; j < k; ++j) {
      double statistic = 0;
      for (Index c = 0; c < 4; ++c) {
        double observed = 0;
        for (Index s = 0; s < S; ++s) observed += double(z(s * B + b, j * 4 + c));
        const double expected = double(S) * double(q(b, j * 4 + c));
        statistic += (observed - expected) * (observed - expected) / expected;
      }
      INFO(fmt::format("b {} latent {}: chi-square {:.2f}, critical {:.2f}", b, j, statistic, critical));
      CHECK(statistic < critical);
    }
  // Each sampled row is one-hot per latent.
  for (Index r = 0; r < z.rows(); ++r)
    for (Index j = 0; j < k; ++j) CHECK(z.row(r).segment(j * 4, 4).sum() == 1.0);
}

TEST_CASE("categorical latents: enumeration equals a brute-force sum, and its exact gradient is right",
          "[families][gradient][exact]") {
  const LatentFamily& family = latent_family(LatentKind::categorical, kCategories);
  const Index B = 2, k = 2, C = kCategories;
  StochasticNode node = random_node(family, B, k, testing::seed());
  testing::BernoulliProblem problem(k * C, B, testing::seed());  // f on the k*C one-hot columns
  NodeGradient grad;
  grad.reset_like(node);
  const VectorD exact = exact_enumerated_expectation(node, problem, &grad, false);
  // Brute force: every (c_0, c_1) written out, q from softmax by hand.
  for (Index b = 0; b < B; ++b) {
    double total = 0;
    for (Index c0 = 0; c0 < C; ++c0)
      for (Index c1 = 0; c1 < C; ++c1) {
        Matrix z = Matrix::Zero(B, k * C);
        z(b, c0) = 1;
        z(b, C + c1) = 1;
        for (Index other = 0; other < B; ++other)
          if (other != b) z(other, 0) = z(other, C) = 1;
        Vector value;
        problem.evaluate(0, z, value);
        double q = 1;
        for (Index j = 0; j < k; ++j) {
          double norm = 0;
          for (Index c = 0; c < C; ++c) norm += std::exp(double(node.logits(b, j * C + c)));
          q *= std::exp(double(node.logits(b, j * C + (j == 0 ? c0 : c1)))) / norm;
        }
        total += q * double(value(b));
      }
    CHECK(exact(b) == Approx(total).epsilon(1e-12));
  }
  auto value = [&] { return exact_enumerated_expectation(node, problem, nullptr, false).sum(); };
  const auto result = testing::check_gradient(node.logits.data(), node.logits.size(), value, grad.d_logits.data());
  INFO(result.describe());
  CHECK(result.passed);
  // The same check fails on a wrong score (the gradient of the Bernoulli formula z - sigmoid(l)).
  NodeGradient wrong;
  wrong.reset_like(node);
  const StochasticNode& const_node = node;
  for (Index b = 0; b < B; ++b)
    for (Index i = 0; i < const_node.logits.cols(); ++i)
      wrong.d_logits(b, i) = grad.d_logits(b, i) * Real(1.1) + Real(1e-3);
  CHECK_FALSE(testing::check_gradient(node.logits.data(), node.logits.size(), value, wrong.d_logits.data()).passed);
}

TEST_CASE("categorical latents: the configuration count is C^k and enumeration refuses more than 2^16",
          "[families][exact]") {
  const LatentFamily& family = latent_family(LatentKind::categorical, 10);
  CHECK(configuration_count(family, 4) == 10000);
  CHECK(configuration_count(family, 5) == 0);  // 100000 > 65536
  CHECK(configuration_count(latent_family(LatentKind::bernoulli), 16) == 65536);
  CHECK(configuration_count(latent_family(LatentKind::bernoulli), 17) == 0);
  CHECK(configuration_count(latent_family(LatentKind::gaussian), 1) == 0);
  StochasticNode node = random_node(family, 1, 5, testing::seed());
  testing::BernoulliProblem problem(50, 1, testing::seed());
  CHECK_THROWS_AS(exact_enumerated_expectation(node, problem, nullptr, false), std::invalid_argument);
}

}  // namespace gradest
