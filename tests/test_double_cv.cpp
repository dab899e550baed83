// double-cv (estimators/double_cv.hpp: REINFORCE leave-one-out plus the Taylor global control
// variate and its correction, Titsias & Shi 2022) against exact answers:
// - the 1-d Bernoulli toy f(b) = (b - t)^2 (models/toy_bernoulli.hpp) at theta = 0.5, t = 0.45 and
//   0.499, K = 2, 3, 4: the exact mean and variance of one estimate from the formula
//   (toy_bernoulli::double_cv, enumeration of the 2^K configurations);
// - a k = 3 latent, B = 2 data point problem with a non-separable f and 14 parameters of its own
//   (tests/bernoulli_problem.hpp), K = 2, 3, 4: the exact gradient of the logits AND of f's
//   parameters by enumerating the 2^3 configurations.
//
// Statistics, R independent estimates per case (fixed seeds from testing::seed()):
// - mean:     z_i = (mean_i - exact_i) / (sd_i / sqrt(R)) per coordinate;
// - variance: z = (s^2 - sigma^2) / sqrt((m4 - s^4) / R) (m4: the sample fourth central moment).
// H0 rejected when |z| exceeds the two-sided Bonferroni threshold for a family-wise level
// kAlpha = 1e-3 over EVERY z-test of this file's passing cases together: 6 toy cases x 2 tests +
// 3 problem cases x 20 coordinates = 72 (threshold 4.35), so the file's false-alarm probability is at
// most 1e-3. Companions at the same R and threshold: the control variate without its correction term
// (DoubleCV::omit_correction, mean off by -alpha E[df/dz] p(1-p)) is rejected on the toy and on the
// problem.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "estimators/double_cv.hpp"
#include "estimators/estimator.hpp"
#include "models/distributions.hpp"
#include "models/enumerate.hpp"
#include "models/toy_bernoulli.hpp"
#include "run/toy_bernoulli.hpp"
#include "tests/bernoulli_problem.hpp"
#include "tests/draw_statistics.hpp"
#include "tests/support.hpp"

namespace gradest {
namespace {

using testing::CoordinateStats;
using testing::draw_moments;
using testing::DrawMoments;
using testing::mean_z;
using testing::variance_z;

constexpr double kAlpha = 1e-3;               // family-wise level over every z-test of this file
constexpr std::int64_t kToyDraws = 100000;    // R on the toy
constexpr std::int64_t kProblemDraws = 20000; // R on the 3-latent problem
constexpr Index kLatents = 3, kBatch = 2;
constexpr std::size_t kProblemCoordinates = kBatch * kLatents + (kLatents + kLatents * kLatents + kBatch);  // 20
constexpr int kSampleCounts[] = {2, 3, 4};
constexpr double kToyTs[] = {0.45, 0.499};
constexpr double kTheta = 0.5;
constexpr std::size_t kSuiteTests =
    std::size(kToyTs) * std::size(kSampleCounts) * 2 + std::size(kSampleCounts) * kProblemCoordinates;  // 72
constexpr double kExactRelative = 1e-12;  // enumeration against the closed-form gradient (double)
constexpr double kExactAbsolute = 1e-15;  // ... where the closed form is 0 (theta = 0 without the correction)

double threshold() { return testing::bonferroni_z(kAlpha, kSuiteTests); }

std::unique_ptr<DoubleCV> make_double_cv(int samples) {
  EstimatorOptions options;
  options.samples = samples;
  options.set(DoubleCV::kScale, 1.0);  // the Taylor control variate at its own coefficient
  std::string error;
  auto estimator = make_estimator("double-cv", options, LatentKind::bernoulli, &error);
  INFO(error);
  REQUIRE(estimator);
  REQUIRE(dynamic_cast<DoubleCV*>(estimator.get()));
  return std::unique_ptr<DoubleCV>(static_cast<DoubleCV*>(estimator.release()));
}


std::vector<double> toy_draws(DoubleCV& estimator, double t, int samples, std::string_view tag) {
  ToyBernoulli toy(t);
  Rng rng = Rng::stream(testing::seed(), {stable_hash("double-cv-toy"), stable_hash(tag), std::uint64_t(samples),
                                          std::uint64_t(t * 1e6)});
  return toy_bernoulli_draws(estimator, toy, kTheta, kToyDraws, rng);
}


VectorD flatten(const NodeGradient& grad, const Vector& param_grad) {
  VectorD out(grad.d_logits.size() + param_grad.size());
  for (Index i = 0; i < grad.d_logits.size(); ++i) out(i) = grad.d_logits.data()[i];
  for (Index i = 0; i < param_grad.size(); ++i) out(grad.d_logits.size() + i) = param_grad(i);
  return out;
}

// max |z| of R double-cv estimates on the 3-latent problem against its exact gradient.
double problem_max_z(int samples, bool omit_correction, Index* worst) {
  auto estimator = make_double_cv(samples);
  estimator->omit_correction = omit_correction;
  const std::uint64_t seed = testing::seed();
  testing::BernoulliProblem problem(kLatents, kBatch, seed);
  const StochasticNode node = problem.node(seed);
  NodeGradient grad;
  grad.reset_like(node);
  problem.param_grad().setZero();
  exact_enumerated_expectation(node, problem, &grad, true);
  const VectorD exact = flatten(grad, problem.param_grad());
  REQUIRE(exact.size() == Index(kProblemCoordinates));
  Rng rng = Rng::stream(seed, {stable_hash("double-cv-problem"), std::uint64_t(samples), std::uint64_t(omit_correction)});
  CoordinateStats stats;
  for (std::int64_t r = 0; r < kProblemDraws; ++r) {
    grad.reset_like(node);
    problem.param_grad().setZero();
    estimator->estimate(node, problem, rng, grad);
    stats.add(flatten(grad, problem.param_grad()));
  }
  return stats.max_abs_z(exact, worst);
}

}  // namespace

TEST_CASE("double-cv toy: the formula's exact mean is the gradient; without the correction it is not",
          "[double-cv][toy]") {
  namespace tb = toy_bernoulli;
  for (double t : {0.45, 0.499, 0.1})
    for (double theta : {-2.0, 0.0, 0.5, 3.0})
      for (int K : kSampleCounts) {
        ToyBernoulli toy(t);
        const double g = toy.exact_gradient(theta), p = sigmoid(theta);
        INFO("t = " << t << ", theta = " << theta << ", K = " << K);
        CHECK(tb::double_cv(toy, theta, K).mean == Approx(g).epsilon(kExactRelative));
        for (double alpha : {-0.5, 0.0, 0.3, 2.0})
          CHECK(tb::double_cv(toy, theta, K, alpha).mean == Approx(g).epsilon(kExactRelative));
        CHECK(tb::double_cv(toy, theta, K, 0.0).variance == Approx(tb::leave_one_out(toy, theta, K).variance).epsilon(1e-12));
        // Dropping the correction shifts the mean by -E[f'(b)] p (1 - p) = -2 (p - t) p (1 - p).
        CHECK(tb::double_cv(toy, theta, K, 1.0, false).mean ==
              Approx(g - 2 * (p - t) * p * (1 - p)).epsilon(kExactRelative).margin(kExactAbsolute));
      }
  // For a linear f the control variate is f's own first-order part: a zero-variance estimate. The toy
  // at t = 1/2 is not linear, but f(1) = f(0) there: g = 0 exactly, and the variance is what the
  // Taylor term adds (strictly positive, so the check below is not vacuous).
  CHECK(tb::double_cv(ToyBernoulli(0.5), 0.5, 2).mean == Approx(0.0).margin(1e-15));
  CHECK(tb::double_cv(ToyBernoulli(0.5), 0.5, 2).variance > 0);
}

TEST_CASE("double-cv toy: draws match the exact mean and variance at t = 0.45 and 0.499, K = 2, 3, 4",
          "[double-cv][toy]") {
  const double z_max = threshold();
  for (double t : kToyTs)
    for (int K : kSampleCounts) {
      auto estimator = make_double_cv(K);
      ToyBernoulli toy(t);
      const auto exact = toy_bernoulli_exact_moments(*estimator, toy, kTheta);
      REQUIRE(exact);
      const DrawMoments m = draw_moments(toy_draws(*estimator, t, K, "pass"));
      const double zm = mean_z(m, toy.exact_gradient(kTheta)), zv = variance_z(m, exact->variance);
      INFO(fmt::format("t = {}, K = {}: mean {:.6e} (exact {:.6e}), z = {:.2f}; variance {:.6e} (exact {:.6e}), "
                       "z = {:.2f}; threshold {:.2f}",
                       t, K, m.mean, toy.exact_gradient(kTheta), zm, m.variance, exact->variance, zv, z_max));
      CHECK(std::abs(zm) <= z_max);
      CHECK(std::abs(zv) <= z_max);
    }
}

TEST_CASE("double-cv toy: the control variate without its correction term is rejected", "[double-cv][toy]") {
  const double z_max = threshold();
  for (double t : kToyTs)
    for (int K : kSampleCounts) {
      auto estimator = make_double_cv(K);
      estimator->omit_correction = true;
      ToyBernoulli toy(t);
      const DrawMoments m = draw_moments(toy_draws(*estimator, t, K, "no-correction"));
      const double zm = mean_z(m, toy.exact_gradient(kTheta));
      INFO(fmt::format("uncorrected, t = {}, K = {}: mean {:.6e} vs exact gradient {:.6e}, z = {:.2f}, threshold {:.2f}",
                       t, K, m.mean, toy.exact_gradient(kTheta), zm, z_max));
      CHECK(std::abs(zm) > z_max);
    }
}

TEST_CASE("double-cv is unbiased on a 3-latent non-separable problem (logits and f's parameters), K = 2, 3, 4",
          "[double-cv]") {
  const double z_max = threshold();
  for (int K : kSampleCounts) {
    Index worst = -1;
    const double z = problem_max_z(K, false, &worst);
    INFO(fmt::format("K = {}: max |z| {:.2f} at coordinate {} of {}, threshold {:.2f}", K, z, worst,
                     kProblemCoordinates, z_max));
    CHECK(z <= z_max);
  }
}

TEST_CASE("double-cv without its correction term is rejected on the 3-latent problem", "[double-cv]") {
  const double z_max = threshold();
  for (int K : kSampleCounts) {
    Index worst = -1;
    const double z = problem_max_z(K, true, &worst);
    INFO(fmt::format("uncorrected, K = {}: max |z| {:.2f} at coordinate {}, threshold {:.2f}", K, z, worst, z_max));
    CHECK(z > z_max);
    CHECK(worst < kBatch * kLatents);  // the bias is in the logits; f's parameters keep their plain gradient
  }
}

TEST_CASE("double-cv refuses an objective that is not differentiable in z", "[double-cv]") {
  class Flat final : public Objective {
   public:
    Terms terms() const override { return Terms::toy; }
    Index batch() const override { return 1; }
    bool differentiable_in_z() const override { return false; }
    void backward(int, const Vector&, Matrix*) override {}
    void gradient_in_z(int, const Vector&, Matrix&) override {}

   protected:
    void do_evaluate(int, const Matrix& z, Vector& value) override { value = Vector::Zero(z.rows()); }
  } flat;
  auto estimator = make_double_cv(2);
  const StochasticNode node = toy_bernoulli_node(0.0);
  NodeGradient grad;
  grad.reset_like(node);
  Rng rng = Rng::stream(testing::seed(), {stable_hash("double-cv-refuse")});
  CHECK_THROWS_AS(estimator->estimate(node, flat, rng, grad), std::invalid_argument);
  CHECK(flat.evaluations() == 0);
}

TEST_CASE("double-cv: the learned coefficient moves to the variance-minimising alpha of the exact moments",
          "[double-cv]") {
  // Var(alpha) is a parabola: a alpha^2 + b alpha + c from the exact moments at alpha = -1, 0, 1.
  const double t = 0.45, theta = 0.5;
  const int K = 2;
  const ToyBernoulli toy(t);
  namespace tb = toy_bernoulli;
  const double vm = tb::double_cv(toy, theta, K, -1).variance, v0 = tb::double_cv(toy, theta, K, 0).variance,
               vp = tb::double_cv(toy, theta, K, 1).variance;
  const double a = (vp + vm) / 2 - v0, b = (vp - vm) / 2, optimum = -b / (2 * a);
  const double best = a * optimum * optimum + b * optimum + v0;
  EstimatorOptions options;
  options.samples = K;
  options.set(DoubleCV::kLr, 0.01);
  options.set(DoubleCV::kScale, 1.0);
  std::string error;
  auto estimator = make_estimator("double-cv", options, LatentKind::bernoulli, &error);
  REQUIRE(estimator);
  auto* dcv = dynamic_cast<DoubleCV*>(estimator.get());
  REQUIRE(dcv);
  CHECK(dcv->scale() == 1.0);  // the start set above
  ToyBernoulli objective(t);
  Rng rng = Rng::stream(testing::seed(), {stable_hash("double-cv-adapt")});
  toy_bernoulli_adapt(*dcv, objective, theta, 20000, rng);
  const double reached = tb::double_cv(toy, theta, K, dcv->scale()).variance;
  INFO("alpha* " << optimum << " (variance " << best << "), reached alpha " << dcv->scale() << " (variance " << reached
                 << "); start alpha 1: " << vp << "; reinforce-loo (alpha 0): " << v0);
  // Adam at a fixed step 0.01 hovers near the minimum: 2% above it at most.
  CHECK(reached < best * 1.02);
  CHECK(dcv->diagnostics().scale == dcv->scale());
}

}  // namespace gradest
