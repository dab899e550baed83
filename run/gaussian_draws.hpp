#pragma once
// Repeated gradient estimates on one-dimensional Gaussian toys, q = N(mu, sigma^2), through the
// estimators' interface: the x^2 example (gradest x2), the Gaussian test costs (gradest toy) and
// their tests.
//
// A node holds B copies of q (mean mu, log-variance 2 log sigma), so one estimator call returns B
// independent estimates; calls are sized to at most kRowsPerCall sample rows (B >= kMinBatch when
// there are that many repeats). An estimate of N samples that do not fit one call is the weighted
// sum, in double, of the estimates of chunks of S samples: sum_c (S_c / N) * estimate_c. d/dsigma is
// d/dlog_var * 2/sigma (chain rule through log_var = 2 log sigma).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/rng.hpp"
#include "models/stochastic.hpp"
#include "models/toy_gaussian.hpp"

namespace gradest {

inline constexpr int kRowsPerCall = 4096;
inline constexpr int kMinBatch = 64;

// Adds to grad, for every row b of node, one estimate from `samples` samples.
using NodeGradientFn = std::function<void(const StochasticNode& node, int samples, Rng& rng, NodeGradient& grad)>;
// An objective for a batch of B data points.
using ObjectiveFactory = std::function<std::unique_ptr<Objective>(Index batch)>;

struct GaussianDraws {
  std::vector<double> d_mu, d_sigma;  // one entry per repeat
};

// `repeats` independent estimates, each from `samples` samples, drawn from rng in a fixed order.
GaussianDraws draw_gaussian_estimates(double mu, double sigma, std::int64_t samples, std::int64_t repeats,
                                      const NodeGradientFn& estimate, Rng& rng);

// The registered estimator `name` (estimators/registry.cpp) on the objective. Throws
// std::invalid_argument if the estimator does not exist or does not apply.
NodeGradientFn registered_estimator(const std::string& name, ObjectiveFactory objective);

// Score function with constant baselines: (1/S) sum_s (f(z_s) - c) dlog q(z_s)/dtheta, with
// c = baseline_mean for the mean and c = baseline_log_var for the log-variance (hence sigma).
NodeGradientFn constant_baseline_score_function(double baseline_mean, double baseline_log_var,
                                                ObjectiveFactory objective);

// The estimator of the Gaussian test problems (models/toy_gaussian.hpp) on the cost: score function
// and pathwise are the registered `reinforce` and `pathwise`, the measure-valued ones the registered
// `measure-valued` and `measure-valued-uncoupled`; the baselines use exact's constants.
NodeGradientFn gaussian_toy_estimator(GaussianToyEstimator estimator, const GaussianTestCost& cost,
                                      const GaussianToyExact& exact);

// Calls cell(i) for i in [0, cells) on up to `threads` threads (>= 1). Cells must write disjoint
// outputs and draw from their own streams; the first exception thrown is rethrown here.
void for_each_cell(std::size_t cells, int threads, const std::function<void(std::size_t)>& cell);

struct SampleMoments {
  double mean = 0;
  double variance = 0;  // unbiased, divided by n - 1
};
// Two-pass, in double. n >= 2.
SampleMoments sample_moments(const std::vector<double>& values);

}  // namespace gradest
