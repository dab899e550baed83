#pragma once
// What tests/test_bernoulli_estimators.cpp (unbiasedness, power, variance) and
// tests/test_bernoulli_interface.cpp (baseline timing, refusals, the toy-bernoulli command) share:
// an estimator case (name, samples), a Bernoulli-latent estimator made from it, and the size of the
// 4-latent problem (tests/bernoulli_problem.hpp) both use.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "estimators/estimator.hpp"
#include "estimators/gumbel_softmax.hpp"
#include "models/latent_family.hpp"

namespace gradest::testing::bernoulli_cases {

inline constexpr Index kLatents = 4, kBatch = 3;

struct Case {
  const char* name;
  int samples;
};

inline std::unique_ptr<Estimator> make(const Case& c, double temperature = 1.0) {
  EstimatorOptions options;
  options.samples = c.samples;
  options.set(GumbelSoftmax::kTemperature, temperature);
  std::string error;
  auto estimator = make_estimator(c.name, options, LatentKind::bernoulli, &error);
  INFO(error);
  REQUIRE(estimator);
  return estimator;
}

}  // namespace gradest::testing::bernoulli_cases
