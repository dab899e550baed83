// Optimisers: exact first steps against hand-computed references, ascent direction, schedules,
// per-group ranges.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "models/optimizer.hpp"

using namespace gradest;

namespace {
constexpr double kFloatTol = 1e-5;  // float32 arithmetic, relative
}

TEST_CASE("sgd takes an ascent step of lr * gradient", "[optimizer]") {
  OptimizerOptions options;
  options.kind = OptimizerKind::sgd;
  options.lr.initial = 0.1;
  auto sgd = Optimizer::make(options, 3);
  Vector params(3), grad(3);
  params << 1, 2, 3;
  grad << 1, -2, 0.5;
  sgd->step(params, grad);
  CHECK(params(0) == Approx(1.1).epsilon(kFloatTol));
  CHECK(params(1) == Approx(1.8).epsilon(kFloatTol));
  CHECK(params(2) == Approx(3.05).epsilon(kFloatTol));
}

TEST_CASE("adam matches a double-precision reference over several steps", "[optimizer]") {
  OptimizerOptions options;
  options.lr.initial = 0.01;
  auto adam = Optimizer::make(options, 2);
  Vector params = Vector::Zero(2);
  double ref[2] = {0, 0}, m[2] = {0, 0}, v[2] = {0, 0};
  const double grads[3][2] = {{1.0, -3.0}, {0.5, 2.0}, {-2.0, 0.1}};
  for (int t = 1; t <= 3; ++t) {
    Vector g(2);
    g << Real(grads[t - 1][0]), Real(grads[t - 1][1]);
    adam->step(params, g);
    for (int i = 0; i < 2; ++i) {
      m[i] = 0.9 * m[i] + 0.1 * grads[t - 1][i];
      v[i] = 0.999 * v[i] + 0.001 * grads[t - 1][i] * grads[t - 1][i];
      const double mhat = m[i] / (1 - std::pow(0.9, t)), vhat = v[i] / (1 - std::pow(0.999, t));
      ref[i] += 0.01 * mhat / (std::sqrt(vhat) + 1e-8);
    }
    for (int i = 0; i < 2; ++i) CHECK(params(i) == Approx(ref[i]).epsilon(kFloatTol));
  }
  // First step is lr * sign(g): ascent, not descent.
  CHECK(adam->steps() == 3);
}

TEST_CASE("adam and sgd climb a concave quadratic to its maximum", "[optimizer]") {
  // f(theta) = -0.5 ||theta - c||^2, gradient c - theta; the maximiser is c.
  Vector c(3);
  c << 1.5, -2.0, 0.25;
  for (OptimizerKind kind : {OptimizerKind::adam, OptimizerKind::sgd}) {
    OptimizerOptions options;
    options.kind = kind;
    options.lr.initial = kind == OptimizerKind::adam ? 0.05 : 0.1;
    auto opt = Optimizer::make(options, 3);
    Vector theta = Vector::Zero(3);
    for (int t = 0; t < 2000; ++t) {
      Vector g = c - theta;
      opt->step(theta, g);
    }
    INFO(to_string(kind));
    CHECK((theta - c).norm() < 1e-3);
  }
}

TEST_CASE("learning-rate schedules start at lr0 and end at lr1", "[optimizer]") {
  LearningRate lr{.initial = 1e-3, .final = 1e-5, .decay = LrDecay::exponential, .total_steps = 100};
  CHECK(lr.at(0) == Approx(1e-3));
  CHECK(lr.at(50) == Approx(1e-4));  // geometric midpoint
  CHECK(lr.at(100) == Approx(1e-5));
  CHECK(lr.at(1000) == Approx(1e-5));
  lr.decay = LrDecay::cosine;
  CHECK(lr.at(0) == Approx(1e-3));
  CHECK(lr.at(50) == Approx(0.5 * (1e-3 + 1e-5)));
  CHECK(lr.at(100) == Approx(1e-5));
  lr.decay = LrDecay::none;
  CHECK(lr.at(77) == 1e-3);
  std::string error;
  lr.initial = 0;
  CHECK_FALSE(lr.valid(&error));
  CHECK(error.find("learning rate") != std::string::npos);
}

TEST_CASE("group optimiser steps each range with its own optimiser and leaves the rest", "[optimizer]") {
  GroupOptimizer groups;
  OptimizerOptions sgd{.kind = OptimizerKind::sgd, .lr = {.initial = 0.01}};
  OptimizerOptions adam{.kind = OptimizerKind::adam, .lr = {.initial = 1e-4}};
  groups.add("encoder", 0, 2, adam);
  groups.add("prior", 3, 2, sgd);
  Vector params = Vector::Zero(5), grad = Vector::Constant(5, 2.0);
  groups.step(params, grad);
  CHECK(params(0) == Approx(1e-4).epsilon(kFloatTol));
  CHECK(params(1) == Approx(1e-4).epsilon(kFloatTol));
  CHECK(params(2) == 0);  // no optimiser for index 2
  CHECK(params(3) == Approx(0.02).epsilon(kFloatTol));
  CHECK_THROWS(groups.add("overlap", 1, 2, sgd));
}

TEST_CASE("a scaled step equals the step on the scaled gradient, to the bit", "[optimizer]") {
  // The trainer passes the batch-sum gradient with scale 1/B instead of a scaled copy.
  for (OptimizerKind kind : {OptimizerKind::adam, OptimizerKind::sgd}) {
    OptimizerOptions options;
    options.kind = kind;
    options.lr.initial = 0.01;
    auto scaled = Optimizer::make(options, 4), copied = Optimizer::make(options, 4);
    Vector a = Vector::Zero(4), b = Vector::Zero(4);
    const Real scale = Real(1) / Real(50);
    for (int t = 0; t < 5; ++t) {
      Vector g(4);
      g << Real(3 + t), Real(-7.5), Real(0.25 * t), Real(1e-3);
      scaled->step(a, g, scale);
      const Vector g_scaled = g * scale;
      copied->step(b, g_scaled);
    }
    INFO(to_string(kind));
    CHECK((a.array() == b.array()).all());
    CHECK(a.cwiseAbs().maxCoeff() > 0);
  }
}

TEST_CASE("all_finite finds a NaN or an infinity anywhere and accepts the largest finite values", "[optimizer]") {
  Vector x = Vector::Constant(1000, std::numeric_limits<Real>::max());
  x(3) = -std::numeric_limits<Real>::max();
  x(4) = std::numeric_limits<Real>::denorm_min();
  x(5) = Real(-0.0);
  CHECK(all_finite(x));
  for (Index at : {Index(0), Index(17), Index(999)})
    for (Real bad : {std::numeric_limits<Real>::quiet_NaN(), std::numeric_limits<Real>::infinity(),
                     -std::numeric_limits<Real>::infinity()}) {
      Vector y = x;
      y(at) = bad;
      INFO("position " << at << " value " << bad);
      CHECK_FALSE(all_finite(y));
    }
  Matrix m = Matrix::Ones(7, 3);
  CHECK(all_finite(m));
  m(6, 2) = std::numeric_limits<Real>::infinity();
  CHECK_FALSE(all_finite(m));
}

TEST_CASE("a step reports whether every parameter it updated is finite, at any position", "[optimizer]") {
  // The trainer's divergence check rides on this answer (run/train_loop.cpp): it must see a single
  // non-finite parameter wherever it sits, in the vectorised body or the scalar tail of the loop.
  const Index n = 37;  // not a multiple of any vector width
  for (OptimizerKind kind : {OptimizerKind::adam, OptimizerKind::sgd}) {
    OptimizerOptions options;
    options.kind = kind;
    options.lr.initial = 0.01;
    INFO(to_string(kind));
    auto clean = Optimizer::make(options, n);
    Vector params = Vector::Zero(n), grad = Vector::Constant(n, 1.0);
    CHECK(clean->step(params, grad));
    for (Index bad : {Index(0), Index(15), Index(31), n - 1}) {
      for (Real value : {std::numeric_limits<Real>::quiet_NaN(), std::numeric_limits<Real>::infinity(),
                         -std::numeric_limits<Real>::infinity()}) {
        auto opt = Optimizer::make(options, n);
        Vector p = Vector::Zero(n);
        p(bad) = value;  // a parameter already non-finite stays so after the update
        INFO("position " << bad << " value " << value);
        CHECK_FALSE(opt->step(p, grad));
      }
      // A gradient that overflows the update: sgd's p + lr * g is inf; adam's normalised step
      // stays finite for a finite gradient, so it sees the NaN gradient instead.
      auto opt = Optimizer::make(options, n);
      Vector p = Vector::Zero(n), g = Vector::Constant(n, 1.0);
      g(bad) = kind == OptimizerKind::sgd ? std::numeric_limits<Real>::max() : std::numeric_limits<Real>::quiet_NaN();
      if (kind == OptimizerKind::sgd) p(bad) = std::numeric_limits<Real>::max();
      CHECK_FALSE(opt->step(p, g, kind == OptimizerKind::sgd ? Real(100) : Real(1)));
    }
  }
}

TEST_CASE("a group optimiser's answer covers its ranges, and covers() tells whether they tile the vector", "[optimizer]") {
  OptimizerOptions adam{.kind = OptimizerKind::adam, .lr = {.initial = 1e-3}};
  GroupOptimizer groups;
  groups.add("a", 0, 3, adam);
  groups.add("b", 3, 2, adam);
  CHECK(groups.covers(5));
  CHECK_FALSE(groups.covers(6));
  Vector params = Vector::Zero(5), grad = Vector::Ones(5);
  CHECK(groups.step(params, grad));
  params(4) = std::numeric_limits<Real>::quiet_NaN();
  CHECK_FALSE(groups.step(params, grad));
  GroupOptimizer gap;
  gap.add("a", 0, 2, adam);
  gap.add("c", 3, 2, adam);
  CHECK_FALSE(gap.covers(5));
}
