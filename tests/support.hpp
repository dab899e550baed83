#pragma once
// Shared test support: the runner's seed, named tolerances and statistical thresholds, and a
// helper to run the gradest binary.
#include <cmath>
#include <cstdint>
#include <string>

#include <boost/math/distributions/normal.hpp>

namespace gradest::testing {

// The seed printed by the test runner (tests/main.cpp).
std::uint64_t seed();

// Tolerances, named once.
namespace tolerance {
inline constexpr double kQuadrature = 1e-8;       // quadrature vs closed form (relative)
inline constexpr double kFiniteDifference = 1e-6;  // central differences in double (relative)
}  // namespace tolerance

// Two-sided Bonferroni threshold on |z| for family-wise level alpha over m tests.
inline double bonferroni_z(double alpha, std::size_t m) {
  boost::math::normal standard;
  return boost::math::quantile(boost::math::complement(standard, alpha / (2.0 * double(m))));
}

}  // namespace gradest::testing
