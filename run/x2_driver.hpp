#pragma once
// The x^2 variance example, driven (gradest x2 and tests). q = N(phi, 1), f(z) = z^2; for each phi
// and N, `repeats` independent N-sample estimates of d/dphi E[z^2] = 2 phi by the score function
// (the registered `reinforce`) and the pathwise estimator, their empirical mean and variance beside
// the exact variances (phi^4 + 14 phi^2 + 15)/N and 4/N (models/toy_x2.hpp).
//
// HDF5 (float64 unless stated; P = number of phi values, M = number of N values), written by
// write_x2:
//   /x2/phi [P], /x2/n [M] int64, /x2/true_gradient [P]
//   /x2/score_function/{mean,variance,exact_variance} [P x M]
//   /x2/pathwise/{mean,variance,exact_variance}       [P x M]
//   /x2 attributes: repeats; each estimator group: estimator (its registered name)
// variance is the unbiased sample variance (divisor repeats - 1) of the N-sample estimates.
//
// Randomness: cell (phi, N, estimator) draws from Rng::stream(seed, {"x2", bits(phi), N,
// estimator}), so a cell's numbers do not depend on the other cells, their order or the threads.
#include <H5Cpp.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "models/types.hpp"

namespace gradest {

struct X2Estimator {
  const char* group;       // HDF5 group and table label
  const char* registered;  // name in estimators/registry.cpp
  double (*exact_variance)(double phi);
};
// score_function, then pathwise.
extern const std::array<X2Estimator, 2> kX2Estimators;

struct X2Options {
  std::vector<double> phi = {2.0};
  std::vector<std::int64_t> n = {10, 100, 1000, 10000, 100000};  // samples per estimate, each >= 1
  std::int64_t repeats = 1000;                                   // estimates per cell, >= 2
  std::uint64_t seed = 1;
  int threads = 1;  // over the cells, >= 1; results do not depend on it
  // False with a one-line reason naming the option (--n, --repeats, --threads).
  bool valid(std::string* error) const;
};

struct X2Result {
  struct PerEstimator {
    MatrixD mean, variance, exact;  // [phi x N]
  };
  std::array<PerEstimator, 2> estimators;  // as kX2Estimators
};

// options must be valid.
X2Result run_x2(const X2Options& options);

// Writes /x2 (layout above) into file.
void write_x2(H5::H5File& file, const X2Options& options, const X2Result& result);

}  // namespace gradest
