// gradest bench: what it prints, not how fast (speed is never asserted in tests).
#include <catch2/catch.hpp>
#include <sys/wait.h>

#include <cstdio>
#include <sstream>
#include <string>

namespace {

struct Output {
  int status;
  std::string text;
};

Output run(const std::string& arguments) {
  const std::string command = std::string(GRADEST_BINARY) + " " + arguments + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string text;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe)) text += buffer;
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
}

}  // namespace

TEST_CASE("bench prints a row per process count with positive rates and the step's FLOPs", "[cli][bench]") {
  const Output out = run("bench --models bvae-linear --seconds 0.05 --probe-draws 0 --processes 1,2");
  INFO(out.text);
  REQUIRE(out.status == 0);
  CHECK(out.text.find("GEMM") != std::string::npos);
  CHECK(out.text.find("multiply-add peak") != std::string::npos);
  std::istringstream lines(out.text);
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
