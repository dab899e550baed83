// The latent families' answers for the relaxation and one-latent-at-a-time estimators
// (models/latent_family.hpp), in double precision, each against an independent answer:
// - accumulate_relaxed (the Concrete / Gumbel-softmax pathwise derivative) equals finite
//   differences of the relaxed sample at fixed noise (Bernoulli, categorical), and the same check
//   rejects the categorical Jacobian without its centring term (shown to fail);
// - accumulate_mean_pathwise (straight-through) equals finite differences of E_q[z];
// - harden gives the Gumbel-max / inversion sample of the same noise;
// - value_log_probs equals log_prob of single configurations, set_value writes them, and
//   add_value_expectation_gradient equals finite differences of sum_c q_j(c) v_c.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cmath>

#include "models/distributions.hpp"
#include "models/latent_family.hpp"
#include "tests/gradient_check.hpp"
#include "tests/support.hpp"

namespace gradest {
namespace {

constexpr LatentKind kDiscrete[] = {LatentKind::bernoulli, LatentKind::categorical};
constexpr int kCategories = 4;
constexpr Index kBatch = 3, kLatents = 2;
constexpr int kSamples = 2;

StochasticNode random_node(const LatentFamily& family, std::uint64_t seed) {
  Rng rng = Rng::stream(seed, {stable_hash("relaxation-node")});
  Matrix encoder_out(kBatch, family.encoder_outputs(kLatents));
  for (Index i = 0; i < encoder_out.size(); ++i) encoder_out(i) = Real(rng.normal());
  StochasticNode node;
  family.node_from_encoder(encoder_out, node);
  return node;
}

Matrix random_matrix(Index rows, Index cols, std::uint64_t seed) {
  Rng rng = Rng::stream(seed, {stable_hash("relaxation-weights")});
  Matrix m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m(i) = Real(rng.normal());
  return m;
}

}  // namespace

TEST_CASE("relaxations: accumulate_relaxed is the derivative of the relaxed sample at fixed noise",
          "[families][gradient][relaxation]") {
  for (LatentKind kind : kDiscrete) {
    const LatentFamily& family = latent_family(kind, kCategories);
    REQUIRE(family.relaxable());
    for (double tau : {1.0, 0.4}) {
      CAPTURE(family.name(), tau);
      StochasticNode node = random_node(family, testing::seed());
      const Rng start = Rng::stream(testing::seed(), {stable_hash("relaxation-noise")});
      Matrix z, noise;
      Rng rng = start;
      family.relaxed_sample(node, kSamples, tau, rng, z, noise);
      REQUIRE(z.rows() == kSamples * kBatch);
      REQUIRE(z.cols() == family.sample_columns(kLatents));
      const Matrix dz = random_matrix(z.rows(), z.cols(), testing::seed());
      NodeGradient grad;
      grad.reset_like(node);
      family.accumulate_relaxed(node, dz, z, tau, grad);
      const auto weighted = [&] {
        Rng again = start;  // the same noise
        Matrix zz, nn;
        family.relaxed_sample(node, kSamples, tau, again, zz, nn);
        return double((zz.array() * dz.array()).sum());
      };
      const auto result = testing::check_gradient(node.logits.data(), node.logits.size(), weighted, grad.d_logits.data());
      INFO(result.describe());
      CHECK(result.passed);
      if (kind == LatentKind::categorical) {
        // The companion: the Jacobian without -sum_c' dz_c' z~_c' (a plausible slip) is caught.
        NodeGradient wrong;
        wrong.reset_like(node);
        for (Index r = 0; r < z.rows(); ++r) wrong.d_logits.row(r % kBatch) += (dz.row(r).array() * z.row(r).array() / tau).matrix();
        const auto caught = testing::check_gradient(node.logits.data(), node.logits.size(), weighted, wrong.d_logits.data());
        INFO(caught.describe());
        CHECK_FALSE(caught.passed);
      }
    }
  }
}

TEST_CASE("relaxations: harden gives the exact discrete sample of the same noise", "[families][relaxation]") {
  for (LatentKind kind : kDiscrete) {
    const LatentFamily& family = latent_family(kind, kCategories);
    CAPTURE(family.name());
    const StochasticNode node = random_node(family, testing::seed());
    Rng rng = Rng::stream(testing::seed(), {stable_hash("harden-noise")});
    Matrix relaxed, noise, hard;
    family.relaxed_sample(node, 50, 0.5, rng, relaxed, noise);
    family.harden(relaxed, hard);
    REQUIRE(hard.rows() == relaxed.rows());
    REQUIRE(hard.cols() == relaxed.cols());
    int mismatches = 0;
    for (Index r = 0; r < hard.rows(); ++r)
      for (Index j = 0; j < kLatents; ++j) {
        if (kind == LatentKind::bernoulli) {  // 1[1 - u < sigmoid(l)]: l + log(u / (1 - u)) > 0
          const double u = noise(r, j), l = node.logits(r % kBatch, j);
          mismatches += hard(r, j) != (1 - u < sigmoid(l) ? 1.0 : 0.0);
        } else {  // one-hot argmax_c (l_c - log(-log u_c))
          Index best = 0;
          double best_value = -INFINITY;
          for (Index c = 0; c < kCategories; ++c) {
            const double v = node.logits(r % kBatch, j * kCategories + c) - std::log(-std::log(noise(r, j * kCategories + c)));
            if (v > best_value) best = c, best_value = v;
          }
          for (Index c = 0; c < kCategories; ++c) mismatches += hard(r, j * kCategories + c) != (c == best ? 1.0 : 0.0);
        }
      }
    CHECK(mismatches == 0);
  }
}

TEST_CASE("relaxations: accumulate_mean_pathwise is the derivative of E_q[z]", "[families][gradient][relaxation]") {
  for (LatentKind kind : kDiscrete) {
    const LatentFamily& family = latent_family(kind, kCategories);
    CAPTURE(family.name());
    StochasticNode node = random_node(family, testing::seed());
    const Matrix dz = random_matrix(kSamples * kBatch, family.sample_columns(kLatents), testing::seed() + 1);
    NodeGradient grad;
    grad.reset_like(node);
    family.accumulate_mean_pathwise(node, dz, grad);
    const auto weighted = [&] {
      Matrix mean;
      family.posterior_mean(node, mean);
      double sum = 0;
      for (Index r = 0; r < dz.rows(); ++r) sum += dz.row(r).dot(mean.row(r % kBatch));
      return sum;
    };
    const auto result = testing::check_gradient(node.logits.data(), node.logits.size(), weighted, grad.d_logits.data());
    INFO(result.describe());
    CHECK(result.passed);
  }
}

TEST_CASE("relaxations: one latent at a time (value_log_probs, set_value, add_value_expectation_gradient)",
          "[families][gradient]") {
  for (LatentKind kind : kDiscrete) {
    const LatentFamily& family = latent_family(kind, kCategories);
    const int C = family.support_size();
    CAPTURE(family.name());
    StochasticNode node = random_node(family, testing::seed());
    MatrixD log_q;
    family.value_log_probs(node, log_q);
    REQUIRE(log_q.rows() == kBatch);
    REQUIRE(log_q.cols() == kLatents * C);
    // log q of a whole configuration (latent j = value (j + b) mod C) equals the sum of its values'.
    Matrix z = Matrix::Zero(kBatch, family.sample_columns(kLatents));
    for (Index b = 0; b < kBatch; ++b)
      for (Index j = 0; j < kLatents; ++j) family.set_value(z, b, j, int((j + b) % C));
    Vector log_prob;
    family.log_prob(node, z, log_prob);
    for (Index b = 0; b < kBatch; ++b) {
      double expected = 0;
      for (Index j = 0; j < kLatents; ++j) expected += log_q(b, j * C + (j + b) % C);
      CHECK(log_prob(b) == Approx(expected).epsilon(1e-12));
      for (Index j = 0; j < kLatents; ++j) CHECK(log_q.row(b).segment(j * C, C).array().exp().sum() == Approx(1).epsilon(1e-12));
    }
    // d/dl sum_b sum_j sum_c q_j(c | l_b) v_bjc
    const MatrixD values = random_matrix(kBatch, kLatents * C, testing::seed() + 2).cast<double>();
    NodeGradient grad;
    grad.reset_like(node);
    for (Index b = 0; b < kBatch; ++b)
      for (Index j = 0; j < kLatents; ++j) {
        const VectorD v = values.row(b).segment(j * C, C).transpose();
        family.add_value_expectation_gradient(node, b, j, v.data(), grad);
      }
    const auto expectation = [&] {
      MatrixD lq;
      family.value_log_probs(node, lq);
      return (lq.array().exp() * values.array()).sum();
    };
    const auto result = testing::check_gradient(node.logits.data(), node.logits.size(), expectation, grad.d_logits.data());
    INFO(result.describe());
    CHECK(result.passed);
  }
}

}  // namespace gradest
