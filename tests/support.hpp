#pragma once
// Shared test support: the runner's seed, named tolerances and statistical thresholds, and a
// helper to run the gradest binary.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

#include <sys/wait.h>

#include <boost/math/distributions/normal.hpp>

namespace gradest::testing {

// AddressSanitizer reserves terabytes of address space for its shadow memory, so a sanitized binary
// cannot start under an address-space limit (ulimit -v): those checks run in the plain build only.
#if defined(__SANITIZE_ADDRESS__)
#define GRADEST_TESTS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GRADEST_TESTS_ASAN 1
#endif
#endif
#ifdef GRADEST_TESTS_ASAN
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif


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

#ifdef GRADEST_BINARY
// Runs `gradest ARGUMENTS` through the shell: its exit status (-1 if a signal ended it) and its
// standard output and error together.
struct CliResult {
  int status;
  std::string output;
};
inline CliResult run_gradest(const std::string& arguments) {
  const std::string command = std::string(GRADEST_BINARY) + " " + arguments + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string output;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}
#endif

}  // namespace gradest::testing
