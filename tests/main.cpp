// The test runner owns the seed and prints it. Tests derive their generators from
// gradest::testing::seed() (fixed: 20261121 unless GRADEST_TEST_SEED is set), so a failure can be
// replayed exactly.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdlib>
#include <iostream>

#include "models/blas.hpp"
#include "tests/support.hpp"

namespace gradest::testing {
std::uint64_t seed() {
  static const std::uint64_t value = [] {
    const char* env = std::getenv("GRADEST_TEST_SEED");
    return env ? std::strtoull(env, nullptr, 10) : std::uint64_t{20261121};
  }();
  return value;
}
}  // namespace gradest::testing

int main(int argc, char* argv[]) {
  gradest::blas::use_one_thread();  // as the gradest binary does (models/blas.hpp)
  std::cerr << "gradest tests: seed " << gradest::testing::seed() << " (set GRADEST_TEST_SEED to change)\n";
  return Catch::Session().run(argc, argv);
}
