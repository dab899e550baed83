#include "run/x2_driver.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include <bit>
#include <memory>

#include "core/limits.hpp"
#include "models/toy_x2.hpp"
#include "run/gaussian_draws.hpp"
#include "store/h5io.hpp"

namespace gradest {

const std::array<X2Estimator, 2> kX2Estimators = {{
    {"score_function", "reinforce", &x2::score_function_variance},
    {"pathwise", "pathwise", &x2::pathwise_variance},
}};

bool X2Options::valid(std::string* error) const {
  auto fail = [&](std::string message) {
    if (error) *error = std::move(message);
    return false;
  };
  // The estimators run in float32: phi^2 and the variances (phi^4 / N) stay well inside its range.
  for (double value : phi)
    if (!(std::abs(value) <= 1e6))
      return fail(fmt::format("option '--phi': every phi must be a number in [-1e6, 1e6] (float32 estimators), got {}",
                              value));
  for (auto samples : n)
    if (samples < 1) return fail(fmt::format("option '--n': every N must be an integer >= 1, got {}", samples));
  if (repeats < 2) return fail(fmt::format("option '--repeats': must be an integer >= 2, got {}", repeats));
  if (threads < 1) return fail(fmt::format("option '--threads': must be an integer >= 1, got {}", threads));
  double draws = 0;
  for (auto samples : n) draws += double(samples) * double(repeats) * double(phi.size() * kX2Estimators.size());
  const std::string subject = fmt::format("--n {} with --repeats {}", fmt::join(n, ","), repeats);
  if (auto problem = limits::work_shortfall(subject, draws, "--n, --repeats or --phi"); !problem.empty()) return fail(problem);
  // Every cell in flight keeps its estimates (two doubles per repeat).
  if (auto problem = limits::memory_shortfall(fmt::format("--repeats {}", repeats), "the estimates of the cells in flight",
                                              16.0 * double(repeats) * std::max(1, threads), "--repeats or --threads");
      !problem.empty())
    return fail(problem);
  return true;
}

X2Result run_x2(const X2Options& options) {
  const Index P = static_cast<Index>(options.phi.size()), M = static_cast<Index>(options.n.size());
  X2Result result;
  for (auto& r : result.estimators) r = {MatrixD(P, M), MatrixD(P, M), MatrixD(P, M)};
  const std::size_t E = kX2Estimators.size();
  // Largest N first, so the long cells start early.
  for_each_cell(static_cast<std::size_t>(P * M) * E, options.threads, [&](std::size_t cell) {
    const std::size_t e = cell % E;
    const Index m = M - 1 - static_cast<Index>((cell / E) % M), p = static_cast<Index>(cell / E / M);
    const auto& est = kX2Estimators[e];
    const double phi = options.phi[p];
    const std::int64_t n = options.n[m];
    Rng rng = Rng::stream(options.seed, {stable_hash("x2"), std::bit_cast<std::uint64_t>(phi),
                                         static_cast<std::uint64_t>(n), stable_hash(est.registered)});
    auto estimate =
        registered_estimator(est.registered, [](Index batch) { return std::make_unique<X2Objective>(batch); });
    const GaussianDraws draws = draw_gaussian_estimates(phi, 1.0, n, options.repeats, estimate, rng);
    const SampleMoments moments = sample_moments(draws.d_mu);
    result.estimators[e].mean(p, m) = moments.mean;
    result.estimators[e].variance(p, m) = moments.variance;
    result.estimators[e].exact(p, m) = est.exact_variance(phi) / static_cast<double>(n);
  });
  return result;
}

void write_x2(H5::H5File& file, const X2Options& options, const X2Result& result) {
  H5::Group group = h5::ensure_group(file, "/x2");
  h5::write_attribute(group, "repeats", options.repeats);
  h5::write_vector(group, "phi", options.phi);
  h5::write_vector(group, "n", options.n);
  std::vector<double> true_gradient;
  for (double phi : options.phi) true_gradient.push_back(x2::true_gradient(phi));
  h5::write_vector(group, "true_gradient", true_gradient);
  for (std::size_t e = 0; e < kX2Estimators.size(); ++e) {
    H5::Group g = h5::ensure_group(file, std::string("/x2/") + kX2Estimators[e].group);
    h5::write_attribute(g, "estimator", std::string(kX2Estimators[e].registered));
    h5::write_matrix(g, "mean", result.estimators[e].mean);
    h5::write_matrix(g, "variance", result.estimators[e].variance);
    h5::write_matrix(g, "exact_variance", result.estimators[e].exact);
  }
}

}  // namespace gradest
