#include "run/toy_gaussian_driver.hpp"

#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <limits>

#include "run/gaussian_draws.hpp"
#include "core/limits.hpp"
#include "store/h5io.hpp"

namespace gradest {

bool GaussianToyOptions::valid(std::string* error) const {
  auto fail = [&](std::string message) {
    if (error) *error = std::move(message);
    return false;
  };
  // The estimators run in float32: keep sigma^2, 1/sigma^2 and the samples well inside its range.
  if (!(std::abs(mu) <= 1e6)) return fail(fmt::format("option '--mu': must be a number in [-1e6, 1e6], got {}", mu));
  if (!(sigma > 0)) return fail(fmt::format("option '--sigma': must be a number > 0, got {}", sigma));
  if (!(sigma >= 1e-6 && sigma <= 1e6))
    return fail(fmt::format("option '--sigma': must be in [1e-6, 1e6] (float32 estimators), got {}", sigma));
  if (samples < 1 || samples > std::numeric_limits<int>::max())
    return fail(fmt::format("option '--samples': must be an integer >= 1, got {}", samples));
  if (repeats < 2) return fail(fmt::format("option '--repeats': must be an integer >= 2, got {}", repeats));
  const double draws = double(samples) * double(repeats) * double(k.size()) * double(kGaussianToyEstimators.size());
  if (auto problem = limits::work_shortfall(fmt::format("--samples {} with --repeats {}", samples, repeats), draws,
                                            "--samples, --repeats or --k");
      !problem.empty())
    return fail(problem);
  // Every cell in flight keeps its estimates (two doubles per repeat).
  if (auto problem = limits::memory_shortfall(fmt::format("--repeats {}", repeats), "the estimates of one cell",
                                              16.0 * double(repeats), "--repeats");
      !problem.empty())
    return fail(problem);
  for (double value : k)
    if (!GaussianTestCost{cost, value}.finite_variances(sigma))
      return fail(fmt::format(
          "option '--k': the exp cost has infinite estimator variances for k <= -1/(4 sigma^2) = {:g}; got {:g}",
          -1.0 / (4.0 * sigma * sigma), value));
  return true;
}

GaussianToyResult run_gaussian_toy(const GaussianToyOptions& options, const GaussianToyCellFn& on_cell) {
  const std::size_t K = options.k.size();
  GaussianToyResult result;
  result.expected_cost.resize(K);
  result.quadrature_error.resize(K);
  for (auto& g : result.true_gradient) g.resize(K);
  for (auto& per_estimator : result.columns)
    for (auto& c : per_estimator)
      c = {std::vector<double>(K), std::vector<double>(K), std::vector<double>(K), std::vector<double>(K)};
  const double mu = options.mu, sigma = options.sigma;
  const std::int64_t samples = options.samples;
  for (std::size_t i = 0; i < K; ++i) {
    const GaussianTestCost f{options.cost, options.k[i]};
    const GaussianToyExact exact = gaussian_toy_exact(f, mu, sigma);
    result.converged = result.converged && exact.converged;
    result.expected_cost[i] = exact.expected_cost;
    result.quadrature_error[i] = exact.quadrature_error;
    for (auto p : kGaussianParameters) result.true_gradient[static_cast<int>(p)][i] = exact.gradient_of(p);
    for (auto e : kGaussianToyEstimators) {
      Rng rng = Rng::stream(options.seed, {stable_hash("toy"), stable_hash(to_string(options.cost)),
                                           std::bit_cast<std::uint64_t>(options.k[i]), std::bit_cast<std::uint64_t>(mu),
                                           std::bit_cast<std::uint64_t>(sigma), static_cast<std::uint64_t>(samples),
                                           stable_hash(to_string(e))});
      const GaussianDraws draws =
          draw_gaussian_estimates(mu, sigma, samples, options.repeats, gaussian_toy_estimator(e, f, exact), rng);
      for (auto p : kGaussianParameters) {
        const SampleMoments m = sample_moments(p == GaussianParameter::mu ? draws.d_mu : draws.d_sigma);
        auto& c = result.columns[static_cast<int>(e)][static_cast<int>(p)];
        c.mean[i] = m.mean;
        c.variance[i] = m.variance;
        c.exact_variance[i] = exact.variance_of(e, p) / static_cast<double>(samples);
        c.baseline[i] = exact.baseline(e, p);
      }
      if (on_cell) on_cell(result, i, e);
    }
  }
  return result;
}

void write_gaussian_toy(H5::H5File& file, const GaussianToyOptions& options, const GaussianToyResult& result) {
  H5::Group group = h5::ensure_group(file, "/toy");
  h5::write_attribute(group, "cost", std::string(to_string(options.cost)));
  h5::write_attribute(group, "mu", options.mu);
  h5::write_attribute(group, "sigma", options.sigma);
  h5::write_attribute(group, "samples", options.samples);
  h5::write_attribute(group, "repeats", options.repeats);
  h5::write_vector(group, "k", options.k);
  h5::write_vector(group, "expected_cost", result.expected_cost);
  h5::write_vector(group, "quadrature_error", result.quadrature_error);
  H5::Group gradient = h5::ensure_group(file, "/toy/true_gradient");
  for (auto p : kGaussianParameters)
    h5::write_vector(gradient, std::string(to_string(p)), result.true_gradient[static_cast<int>(p)]);
  for (auto e : kGaussianToyEstimators)
    for (auto p : kGaussianParameters) {
      H5::Group g = h5::ensure_group(file, fmt::format("/toy/{}/{}", to_string(e), to_string(p)));
      const auto& c = result.column(e, p);
      h5::write_vector(g, "mean", c.mean);
      h5::write_vector(g, "variance", c.variance);
      h5::write_vector(g, "exact_variance", c.exact_variance);
      h5::write_vector(g, "baseline", c.baseline);
    }
}

}  // namespace gradest
