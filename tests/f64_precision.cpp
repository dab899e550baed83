#include <catch2/catch.hpp>

#include <type_traits>

#include "models/types.hpp"

TEST_CASE("the f64 test build computes in double", "[build]") {
  STATIC_REQUIRE(std::is_same_v<gradest::Real, double>);
}
