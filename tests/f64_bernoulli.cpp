// Finite-difference checks (double precision) of the Bernoulli test problem's and the toy's
// hand-written backward passes, and of the exact enumeration gradients (models/enumerate.hpp) that
// the Bernoulli estimators are tested against.
#include <catch2/catch.hpp>

#include "models/latent_family.hpp"
#include "models/distributions.hpp"
#include "models/enumerate.hpp"
#include "models/toy_bernoulli.hpp"
#include "tests/bernoulli_problem.hpp"
#include "tests/gradient_check.hpp"
#include "tests/support.hpp"

using namespace gradest;
using gradest::testing::BernoulliProblem;
using gradest::testing::check_gradient;

namespace {

// Relaxed z in (0, 1) and random positive weights: sum_r weight_r f(z_r) and its gradients.
struct WeightedSum {
  Matrix z;
  Vector weight;
  WeightedSum(Index rows, Index k, std::uint64_t seed) : z(rows, k), weight(rows) {
    Rng rng = Rng::stream(seed, {stable_hash("weighted-sum")});
    rng.fill_uniform_open(z);
    for (Index r = 0; r < rows; ++r) weight(r) = Real(0.5 + rng.uniform());
  }
  double value(Objective& objective) {
    Vector f;
    objective.evaluate(0, z, f);
    return double(f.dot(weight));
  }
};

}  // namespace

TEST_CASE("Bernoulli test problem: backward matches finite differences, and the check catches a wrong one",
          "[bernoulli][gradient]") {
  const std::uint64_t seed = gradest::testing::seed();
  for (bool wrong : {false, true}) {
    BernoulliProblem problem(4, 3, seed);
    problem.wrong_backward = wrong;
    WeightedSum sum(6, 4, seed);
    sum.value(problem);
    problem.param_grad().setZero();
    Matrix dz;
    problem.backward(0, sum.weight, &dz);
    const Vector analytic = problem.param_grad();
    const auto params = check_gradient(
        problem.params(), [&] { return sum.value(problem); }, analytic);
    const auto z = check_gradient(
        sum.z, [&] { return sum.value(problem); }, dz);
    INFO("wrong_backward = " << wrong << "; params: " << params.describe() << "; z: " << z.describe());
    CHECK(params.passed == !wrong);
    CHECK(z.passed);
  }
}

TEST_CASE("Bernoulli toy: df/dz matches finite differences, and the check catches a wrong one",
          "[bernoulli][gradient]") {
  ToyBernoulli toy(0.45, 2);
  WeightedSum sum(4, 3, gradest::testing::seed());
  sum.value(toy);
  Matrix dz;
  toy.backward(0, sum.weight, &dz);
  const auto good = check_gradient(
      sum.z, [&] { return sum.value(toy); }, dz);
  INFO(good.describe());
  CHECK(good.passed);
  const Matrix wrong = dz * 1.01;
  CHECK_FALSE(check_gradient(
                  sum.z, [&] { return sum.value(toy); }, wrong)
                  .passed);
}

TEST_CASE("exact enumeration: the gradients of E_q[f] match finite differences", "[bernoulli][gradient][enumerate]") {
  const std::uint64_t seed = gradest::testing::seed();
  BernoulliProblem problem(4, 3, seed);
  StochasticNode node = problem.node(seed);
  NodeGradient grad;
  grad.reset_like(node);
  problem.param_grad().setZero();
  exact_enumerated_expectation(node, problem, &grad, true);
  const Vector param_grad = problem.param_grad();
  auto value = [&] { return exact_enumerated_expectation(node, problem, nullptr, false).sum(); };
  const auto logits = check_gradient(node.logits, value, grad.d_logits);
  const auto params = check_gradient(problem.params(), value, param_grad);
  INFO("logits: " << logits.describe() << "; params: " << params.describe());
  CHECK(logits.passed);
  CHECK(params.passed);
  // The toy's closed form agrees with enumeration.
  ToyBernoulli toy(0.45);
  StochasticNode toy_node;
  toy_node.family = &latent_family(LatentKind::bernoulli);
  toy_node.logits = Matrix::Constant(1, 1, 0.5);
  NodeGradient toy_grad;
  toy_grad.reset_like(toy_node);
  const double e = exact_enumerated_expectation(toy_node, toy, &toy_grad, false)(0);
  CHECK(e == Approx(toy.expected_value(0.5)).epsilon(1e-12));
  CHECK(toy_grad.d_logits(0, 0) == Approx(toy.exact_gradient(0.5)).epsilon(1e-12));
}

TEST_CASE("exact enumeration: the K-sample bound's gradients match finite differences; K = 1 is the ELBO with entropy",
          "[bernoulli][gradient][enumerate]") {
  const std::uint64_t seed = gradest::testing::seed();
  BernoulliProblem problem(3, 2, seed, Objective::Terms::joint);
  StochasticNode node = problem.node(seed);
  for (int K : {1, 2, 3}) {
    NodeGradient grad;
    grad.reset_like(node);
    problem.param_grad().setZero();
    exact_enumerated_importance_bound(node, problem, K, &grad, true);
    const Vector param_grad = problem.param_grad();
    auto value = [&] { return exact_enumerated_importance_bound(node, problem, K, nullptr, false).sum(); };
    const auto logits = check_gradient(node.logits, value, grad.d_logits);
    const auto params = check_gradient(problem.params(), value, param_grad);
    INFO("K = " << K << "; logits: " << logits.describe() << "; params: " << params.describe());
    CHECK(logits.passed);
    CHECK(params.passed);
  }
  // K = 1: E[f - log q] = E[f] + entropy.
  const double bound = exact_enumerated_importance_bound(node, problem, 1, nullptr, false).sum();
  double entropy = 0;
  for (Index b = 0; b < node.logits.rows(); ++b)
    for (Index j = 0; j < node.logits.cols(); ++j) {
      const double p = sigmoid(double(node.logits(b, j)));
      entropy -= p * std::log(p) + (1 - p) * std::log(1 - p);
    }
  CHECK(bound == Approx(exact_enumerated_expectation(node, problem, nullptr, false).sum() + entropy).epsilon(1e-12));
  // The bound increases with K (Burda et al. 2016).
  CHECK(exact_enumerated_importance_bound(node, problem, 2, nullptr, false).sum() > bound);
}

TEST_CASE("exact enumeration refuses too many configurations", "[bernoulli][enumerate]") {
  BernoulliProblem problem(9, 1, 1, Objective::Terms::joint);
  StochasticNode node = problem.node(1);
  CHECK_THROWS_AS(exact_enumerated_importance_bound(node, problem, 2, nullptr, false), std::invalid_argument);
  BernoulliProblem big(17, 1, 1);
  StochasticNode big_node = big.node(1);
  CHECK_THROWS_AS(exact_enumerated_expectation(big_node, big, nullptr, false), std::invalid_argument);
}
