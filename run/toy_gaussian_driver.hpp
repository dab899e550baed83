#pragma once
// The Gaussian test problems of Mohamed et al. (2020, section 3), driven (gradest toy and tests):
// q = N(mu, sigma^2), cost square (x-k)^2, exp exp(-k x^2) or cos cos(kx); for each k, each
// estimator (score function, score function with the constant baseline E[f], with the
// variance-optimal constant per parameter, pathwise) and each parameter (mu, sigma): the exact
// gradient and exact variance (quadrature, models/toy_gaussian.hpp) beside the empirical mean and
// variance of `repeats` S-sample estimates.
//
// HDF5 (float64; K = number of k values), written by write_gaussian_toy:
//   /toy/k [K]                                   the cost's parameter
//   /toy/expected_cost [K]                       E_q[f]
//   /toy/true_gradient/{mu,sigma} [K]            d/dmu, d/dsigma of E_q[f]
//   /toy/quadrature_error [K]                    largest estimated absolute quadrature error
//   /toy/<estimator>/<parameter>/mean [K]                empirical mean of the S-sample estimates
//   /toy/<estimator>/<parameter>/variance [K]            their unbiased sample variance (divisor R-1)
//   /toy/<estimator>/<parameter>/exact_variance [K]      exact variance of an S-sample estimate
//                                                        (single-sample variance / S)
//   /toy/<estimator>/<parameter>/baseline [K]            the constant subtracted (0 if none)
//   <estimator>: score_function, score_function_mean_baseline, score_function_optimal_baseline,
//   pathwise; <parameter>: mu, sigma.
//   /toy attributes: cost (string), mu, sigma, samples, repeats
//
// Randomness: cell (k, estimator) draws from Rng::stream(seed, {"toy", cost, bits(k), bits(mu),
// bits(sigma), S, estimator}); both parameters' estimates come from the same draws.
#include <H5Cpp.h>

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/toy_gaussian.hpp"

namespace gradest {

struct GaussianToyOptions {
  GaussianCost cost = GaussianCost::square;
  std::vector<double> k = {1.0};
  double mu = 1.0;
  double sigma = 1.0;            // in [1e-6, 1e6]: the estimators run in float32
  std::int64_t samples = 1;      // S per estimate, >= 1
  std::int64_t repeats = 10000;  // estimates per (k, estimator), >= 2
  std::uint64_t seed = 1;
  // False with a one-line reason naming the option (--mu, --sigma, --samples, --repeats, --k).
  bool valid(std::string* error) const;
};

struct GaussianToyResult {
  // Per k: one entry per value of options.k.
  struct Column {
    std::vector<double> mean, variance, exact_variance, baseline;
  };
  std::vector<double> expected_cost, quadrature_error;
  std::array<std::vector<double>, 2> true_gradient;                          // [parameter]
  std::array<std::array<Column, 2>, kGaussianToyEstimators.size()> columns;  // [estimator][parameter]
  bool converged = true;  // quadrature reached its tolerance for every k
  const Column& column(GaussianToyEstimator e, GaussianParameter p) const {
    return columns[static_cast<int>(e)][static_cast<int>(p)];
  }
};

// Runs every (k, estimator) cell in order; after each, on_cell(the result so far, k index,
// estimator) if given. options must be valid.
using GaussianToyCellFn = std::function<void(const GaussianToyResult&, std::size_t, GaussianToyEstimator)>;
GaussianToyResult run_gaussian_toy(const GaussianToyOptions& options, const GaussianToyCellFn& on_cell = {});

// Writes /toy (layout above) into file.
void write_gaussian_toy(H5::H5File& file, const GaussianToyOptions& options, const GaussianToyResult& result);

}  // namespace gradest
