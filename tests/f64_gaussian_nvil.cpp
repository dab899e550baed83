// reinforce-nvil (the learned, input-dependent baseline) against exact gradients of the
// linear-Gaussian latent model (tests/gaussian_toys.hpp), with Gaussian latents and with a
// Bernoulli node plugged into the same objective (exact gradient by enumerating {0,1}^k):
// unbiased with a trained baseline in every centre/normalise setting, the self-baseline rejected
// at the same R (the z-test of tests/gaussian_toys.hpp, family-wise level kAlpha), and the
// baseline's explained variance rising as it learns. iwae, stl, dreg: tests/f64_gaussian_estimators.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "estimators/estimator.hpp"
#include "estimators/reinforce_nvil.hpp"
#include "models/latent_family.hpp"
#include "models/distributions.hpp"
#include "tests/gaussian_toys.hpp"
#include "tests/support.hpp"

namespace gradest {
namespace {

using namespace testing::gaussian_toys;

// A Bernoulli node on the same objective: z in {0, 1}^k plugged into log p(x | z) = N(x; a.z + c, s^2).
MatrixD bernoulli_logits(int dims) {
  return dims == 1 ? MatrixD{{0.4}, {-1.1}, {0.9}} : MatrixD{{0.4, -0.6}, {-1.1, 0.3}, {0.9, 1.5}};
}

// Exact gradient of sum_b E_q[log p(x_b | z)] for the Bernoulli node by enumerating {0,1}^k;
// coordinates [logit(b, j) at b*k + j, a_j, c].
VectorXd exact_bernoulli_gradient(const LinearGaussianToy& toy, const MatrixD& logits) {
  const Index B = toy.batch(), k = logits.cols();
  VectorXd g = VectorXd::Zero(B * k + k + 1);
  for (Index b = 0; b < B; ++b)
    for (Index config = 0; config < (Index(1) << k); ++config) {
      VectorXd z(k);
      double q = 1;
      for (Index j = 0; j < k; ++j) {
        z(j) = double((config >> j) & 1);
        const double p = 1 / (1 + std::exp(-logits(b, j)));
        q *= z(j) > 0 ? p : 1 - p;
      }
      const double f = toy.log_likelihood(b, z), r = (toy.x(b) - toy.a.dot(z) - toy.c) / (toy.s * toy.s);
      for (Index j = 0; j < k; ++j) g(b * k + j) += q * f * (z(j) - 1 / (1 + std::exp(-logits(b, j))));
      g.segment(B * k, k) += q * r * z;
      g(B * k + k) += q * r;
    }
  return g;
}

std::function<VectorXd(Rng&)> bernoulli_drawer(Estimator& estimator, const MatrixD& logits, LinearGaussianObjective& objective) {
  StochasticNode node;
  node.family = &latent_family(LatentKind::bernoulli);
  node.logits = logits.cast<Real>();
  return [&estimator, &objective, node](Rng& rng) {
    NodeGradient grad;
    grad.reset_like(node);
    objective.reset_gradient();
    estimator.estimate(node, objective, rng, grad);
    const Index n = grad.d_logits.size(), B = grad.d_logits.rows(), k = grad.d_logits.cols();
    VectorXd g(n + objective.grad_a.size() + 1);
    for (Index b = 0; b < B; ++b)
      for (Index j = 0; j < k; ++j) g(b * k + j) = grad.d_logits(b, j);
    g.segment(n, objective.grad_a.size()) = objective.grad_a;
    g(g.size() - 1) = objective.grad_c;
    return g;
  };
}

// Trains the baseline for `steps` estimate/learn rounds at frozen model parameters; returns the
// explained-variance diagnostic of every round.
std::vector<double> train_baseline(Estimator& estimator, const StochasticNode& node, Objective& objective, int steps,
                                   std::uint64_t stream) {
  std::vector<double> explained;
  for (int i = 0; i < steps; ++i) {
    Rng rng = Rng::stream(testing::seed(), {stream, std::uint64_t(i)});
    NodeGradient grad;
    grad.reset_like(node);
    estimator.estimate(node, objective, rng, grad);
    explained.push_back(estimator.diagnostics().explained_variance);
    estimator.learn(rng);
  }
  return explained;
}

std::unique_ptr<Estimator> make_nvil(LatentKind kind, bool centre, bool normalise, double lr) {
  EstimatorOptions options;
  options.set(ReinforceNvil::kCentre, centre);
  options.set(ReinforceNvil::kNormalise, normalise);
  options.set(ReinforceNvil::kLr, lr);
  options.set(ReinforceNvil::kHidden, std::vector<int>{16});
  std::string error;
  auto estimator = make_estimator("reinforce-nvil", options, kind, &error);
  INFO(error);
  REQUIRE(estimator);
  return estimator;
}

TEST_CASE("reinforce-nvil is unbiased with a trained baseline, Gaussian and Bernoulli latents; self-baseline is rejected",
          "[unbiased][gaussian-estimators]") {
  const LinearGaussianToy toy = make_toy(2);
  LinearGaussianObjective objective(toy, Objective::Terms::likelihood);
  const VectorXd exact_gaussian = exact_likelihood_gradient(toy);
  const MatrixD logits = bernoulli_logits(2);
  const VectorXd exact_bernoulli = exact_bernoulli_gradient(toy, logits);
  StochasticNode bernoulli_node;
  bernoulli_node.family = &latent_family(LatentKind::bernoulli);
  bernoulli_node.logits = logits.cast<Real>();
  for (bool centre : {false, true})
    for (bool normalise : {false, true}) {
      auto gaussian = make_nvil(LatentKind::gaussian, centre, normalise, 1e-2);
      train_baseline(*gaussian, toy.node(), objective, 200, stable_hash("nvil train gaussian"));
      const ZTest tg = z_test(drawer(*gaussian, toy, objective), exact_gaussian, kDraws, stable_hash("nvil gaussian") + 2 * centre + normalise);
      INFO("gaussian, centre " << centre << ", normalise " << normalise << ": " << describe(tg));
      CHECK_FALSE(tg.rejects());
      auto bernoulli = make_nvil(LatentKind::bernoulli, centre, normalise, 1e-2);
      train_baseline(*bernoulli, bernoulli_node, objective, 200, stable_hash("nvil train bernoulli"));
      const ZTest tb = z_test(bernoulli_drawer(*bernoulli, logits, objective), exact_bernoulli, kDraws, stable_hash("nvil bernoulli") + 2 * centre + normalise);
      INFO("bernoulli, centre " << centre << ", normalise " << normalise << ": " << describe(tb));
      CHECK_FALSE(tb.rejects());
    }
  // Power at the same R: the baseline computed from the samples it multiplies (S = 2) halves E[g].
  EstimatorOptions options;
  options.samples = 2;
  std::string error;
  for (LatentKind kind : {LatentKind::gaussian, LatentKind::bernoulli}) {
    auto self = make_estimator("reinforce-self-baseline", options, kind, &error);
    REQUIRE(self);
    const ZTest t = kind == LatentKind::gaussian
                        ? z_test(drawer(*self, toy, objective), exact_gaussian, kDraws, stable_hash("self gaussian"))
                        : z_test(bernoulli_drawer(*self, logits, objective), exact_bernoulli, kDraws, stable_hash("self bernoulli"));
    INFO("reinforce-self-baseline, " << to_string(kind) << ": " << describe(t));
    CHECK(t.rejects());
  }
}

TEST_CASE("reinforce-nvil's baseline learns: the explained fraction of the signal's variance rises", "[gaussian-estimators]") {
  // Data points far apart and a narrow q: most of the learning signal's variance is between data
  // points, which only an input-dependent baseline can explain.
  LinearGaussianToy toy = make_toy(1);
  toy.x = VectorXd{{-4.0, 0.5, 5.0}};
  toy.log_var.setConstant(-3.0);
  LinearGaussianObjective objective(toy, Objective::Terms::likelihood);
  for (LatentKind kind : {LatentKind::gaussian, LatentKind::bernoulli}) {
    StochasticNode node = toy.node();
    if (kind == LatentKind::bernoulli) {
      node = StochasticNode{};
      node.family = &latent_family(LatentKind::bernoulli);
      node.logits = bernoulli_logits(1).cast<Real>();
    }
    auto nvil = make_nvil(kind, true, true, 1e-2);
    const std::vector<double> explained = train_baseline(*nvil, node, objective, 1000, stable_hash("nvil learns"));
    auto average = [&](int from, int to) {
      double sum = 0;
      for (int i = from; i < to; ++i) sum += explained[i];
      return sum / (to - from);
    };
    const double early = average(1, 21), late = average(900, 1000);
    INFO(to_string(kind) << ": explained variance, steps 1-20 " << early << ", steps 900-999 " << late);
    CHECK(late > 0.5);
    CHECK(late > early + 0.2);
    const EstimatorDiagnostics d = nvil->diagnostics();
    CHECK(std::isfinite(d.baseline_loss));
    CHECK(d.baseline_loss >= 0);
  }
}

}  // namespace
}  // namespace gradest
