// gradest bench: what it prints, not how fast (speed is never asserted in tests).
#include <catch2/catch.hpp>

#include <sstream>
#include <string>

#include "tests/support.hpp"

TEST_CASE("bench prints a row per process count with positive rates and the step's FLOPs", "[cli][bench]") {
  const auto out = gradest::testing::run_gradest("bench --models bvae-linear --seconds 0.05 --probe-draws 0 --processes 1,2");
  INFO(out.output);
  REQUIRE(out.status == 0);
  CHECK(out.output.find("GEMM") != std::string::npos);
  CHECK(out.output.find("multiply-add peak") != std::string::npos);
  std::istringstream lines(out.output);
  std::string line;
  int rows = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("bvae-linear", 0) != 0) continue;
    std::istringstream fields(line);
    std::string model;
    int processes = 0;
    double per = 0, total = 0, mflop = 0;
    fields >> model >> processes >> per >> total >> mflop;
    ++rows;
    CHECK(processes == rows);
    CHECK(per > 0);
    CHECK(total == Approx(per * processes).epsilon(0.01));
    // 784-200 encoder (forward + weight gradient) and 200-784 decoder on 2 samples (forward +
    // weight gradient; no input gradient for the score function), batch 50.
    CHECK(mflop == Approx((2 * 2.0 * 50 * 784 * 200 + 2 * 2.0 * 100 * 200 * 784) / 1e6).epsilon(1e-3));
  }
  CHECK(rows == 2);
}
