// gradest toy: the Gaussian test problems of Mohamed et al. (2020, section 3). q = N(mu, sigma^2),
// cost square (x-k)^2, exp exp(-k x^2) or cos cos(kx); for each k, each estimator (score function,
// score function with the constant baseline E[f], with the variance-optimal constant per parameter,
// pathwise) and each parameter (mu, sigma): the exact gradient and exact variance (quadrature,
// models/toy_gaussian.hpp) beside the empirical mean and variance of `repeats` S-sample estimates.
//
// HDF5 (float64; K = number of k values):
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
//   root attributes: gradest_version, git_commit, schema_version, command_line, seed, config, date_utc
//
// Randomness: cell (k, estimator) draws from Rng::stream(seed, {"toy", cost, bits(k), bits(mu),
// bits(sigma), S, estimator}); both parameters' estimates come from the same draws.
#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <iostream>

#include "cli/commands.hpp"
#include "run/gaussian_draws.hpp"
#include "store/h5io.hpp"
#include "models/toy_gaussian.hpp"

namespace gradest::cli {

int run_toy(const std::vector<std::string>& args, const Context& context) {
  std::string cost_text, k_text, out;
  double mu = 0, sigma = 0;
  std::int64_t samples = 0, repeats = 0;
  std::uint64_t seed = 0;
  bool force = false;
  po::options_description options("toy options");
  options.add_options()
      ("cost", po::value(&cost_text)->default_value("square"), ("test cost: " + gaussian_cost_names()).c_str())
      ("k", po::value(&k_text)->default_value("1"), "the cost's parameter: a number, list a,b,c or range start:stop:count")
      ("mu", po::value(&mu)->default_value(1.0), "mean of q = N(mu, sigma^2)")
      ("sigma", po::value(&sigma)->default_value(1.0), "standard deviation of q (> 0)")
      ("samples", po::value(&samples)->default_value(1), "samples S per estimate (>= 1)")
      ("repeats", po::value(&repeats)->default_value(10000), "independent estimates per (k, estimator) (>= 2)")
      ("seed", po::value(&seed)->default_value(1), "random seed")
      ("out", po::value(&out)->default_value("results/toy.h5"), "HDF5 output file")
      ("force", po::bool_switch(&force), "overwrite --out if it exists");
  po::variables_map vm;
  if (!parse(args, options, nullptr, vm)) {
    print_help("toy", "[--cost square|exp|cos] [--k 1 | -3:3:61 | a,b,c] [--mu 1] [--sigma 1] [--samples 1] [--repeats 10000] [--seed 1] [--out results/toy.h5] [--force]",
               options);
    return 0;
  }
  const auto cost = parse_gaussian_cost(cost_text);
  if (!cost) throw UsageError(fmt::format("option '--cost': unknown cost '{}'; allowed: {}", cost_text, gaussian_cost_names()));
  const std::vector<double> ks = parse_real_list(k_text, "k");
  // The estimators run in float32: keep sigma^2, 1/sigma^2 and the samples well inside its range.
  if (!(std::abs(mu) <= 1e6)) throw UsageError(fmt::format("option '--mu': must be a number in [-1e6, 1e6], got {}", mu));
  if (!(sigma > 0)) throw UsageError(fmt::format("option '--sigma': must be a number > 0, got {}", sigma));
  if (!(sigma >= 1e-6 && sigma <= 1e6))
    throw UsageError(fmt::format("option '--sigma': must be in [1e-6, 1e6] (float32 estimators), got {}", sigma));
  if (samples < 1 || samples > std::numeric_limits<int>::max())
    throw UsageError(fmt::format("option '--samples': must be an integer >= 1, got {}", samples));
  if (repeats < 2) throw UsageError(fmt::format("option '--repeats': must be an integer >= 2, got {}", repeats));
  for (double k : ks)
    if (!GaussianTestCost{*cost, k}.finite_variances(sigma))
      throw UsageError(fmt::format("option '--k': the exp cost has infinite estimator variances for k <= -1/(4 sigma^2) = {:g}; got {:g}",
                                   -1.0 / (4.0 * sigma * sigma), k));
  h5::check_output_path(out, force);

  const Index K = static_cast<Index>(ks.size());
  constexpr int E = static_cast<int>(kGaussianToyEstimators.size());
  std::vector<double> expected_cost(K), quadrature_error(K);
  std::array<std::vector<double>, 2> true_gradient;
  // [estimator][parameter] -> per-k columns
  struct Column {
    std::vector<double> mean, variance, exact_variance, baseline;
  };
  std::array<std::array<Column, 2>, E> columns;
  for (auto& per_estimator : columns)
    for (auto& c : per_estimator) c = Column{std::vector<double>(K), std::vector<double>(K), std::vector<double>(K), std::vector<double>(K)};
  for (auto& g : true_gradient) g.resize(K);

  std::cout << fmt::format("Gaussian test cost '{}' (Mohamed et al. 2020, section 3): q = N({:g}, {:g}^2), {} estimates of {} sample{} each per cell\n",
                           to_string(*cost), mu, sigma, repeats, samples, samples == 1 ? "" : "s");
  std::cout << fmt::format("{:>8} {:<32} | {:>9} {:>9} {:>10} {:>10} | {:>9} {:>9} {:>10} {:>10}\n", "k", "estimator",
                           "d/dmu", "mean", "exact var", "var", "d/dsigma", "mean", "exact var", "var");
  bool all_converged = true;
  for (Index i = 0; i < K; ++i) {
    const GaussianTestCost f{*cost, ks[i]};
    const GaussianToyExact exact = gaussian_toy_exact(f, mu, sigma);
    all_converged = all_converged && exact.converged;
    expected_cost[i] = exact.expected_cost;
    quadrature_error[i] = exact.quadrature_error;
    for (auto p : kGaussianParameters) true_gradient[static_cast<int>(p)][i] = exact.gradient_of(p);
    for (auto e : kGaussianToyEstimators) {
      const int ei = static_cast<int>(e);
      Rng rng = Rng::stream(seed, {stable_hash("toy"), stable_hash(to_string(*cost)), std::bit_cast<std::uint64_t>(ks[i]),
                                   std::bit_cast<std::uint64_t>(mu), std::bit_cast<std::uint64_t>(sigma),
                                   static_cast<std::uint64_t>(samples), stable_hash(to_string(e))});
      const GaussianDraws draws = draw_gaussian_estimates(mu, sigma, samples, repeats, gaussian_toy_estimator(e, f, exact), rng);
      for (auto p : kGaussianParameters) {
        const int pi = static_cast<int>(p);
        const SampleMoments m = sample_moments(p == GaussianParameter::mu ? draws.d_mu : draws.d_sigma);
        Column& c = columns[ei][pi];
        c.mean[i] = m.mean;
        c.variance[i] = m.variance;
        c.exact_variance[i] = exact.variance_of(e, p) / static_cast<double>(samples);
        c.baseline[i] = exact.baseline(e, p);
      }
      const Column &cm = columns[ei][0], &cs = columns[ei][1];
      std::cout << fmt::format("{:>8.4g} {:<32} | {:>9.4f} {:>9.4f} {:>10.4g} {:>10.4g} | {:>9.4f} {:>9.4f} {:>10.4g} {:>10.4g}\n",
                               ks[i], to_string(e), exact.gradient[0], cm.mean[i], cm.exact_variance[i], cm.variance[i],
                               exact.gradient[1], cs.mean[i], cs.exact_variance[i], cs.variance[i]);
    }
  }
  if (!all_converged)
    std::cerr << "gradest toy: warning: quadrature did not reach its tolerance for some k; see /toy/quadrature_error\n";
  std::cout << fmt::format("(exact: by quadrature; var: unbiased sample variance over {} estimates, relative standard error "
                           "about sqrt((kurtosis - 1)/{}))\n",
                           repeats, repeats);

  h5::RunMetadata metadata{context.command_line, seed,
                           fmt::format("command = toy\ncost = {}\nk = {}\nmu = {}\nsigma = {}\nsamples = {}\nrepeats = {}\n"
                                       "seed = {}\nout = {}\nforce = {}\n",
                                       to_string(*cost), k_text, mu, sigma, samples, repeats, seed, out, force)};
  h5::OutputFile file(out, force, metadata);
  H5::Group group = h5::ensure_group(file.file(), "/toy");
  h5::write_attribute(group, "cost", std::string(to_string(*cost)));
  h5::write_attribute(group, "mu", mu);
  h5::write_attribute(group, "sigma", sigma);
  h5::write_attribute(group, "samples", samples);
  h5::write_attribute(group, "repeats", repeats);
  h5::write_vector(group, "k", ks);
  h5::write_vector(group, "expected_cost", expected_cost);
  h5::write_vector(group, "quadrature_error", quadrature_error);
  H5::Group gradient = h5::ensure_group(file.file(), "/toy/true_gradient");
  for (auto p : kGaussianParameters) h5::write_vector(gradient, std::string(to_string(p)), true_gradient[static_cast<int>(p)]);
  for (auto e : kGaussianToyEstimators)
    for (auto p : kGaussianParameters) {
      H5::Group g = h5::ensure_group(file.file(), fmt::format("/toy/{}/{}", to_string(e), to_string(p)));
      const Column& c = columns[static_cast<int>(e)][static_cast<int>(p)];
      h5::write_vector(g, "mean", c.mean);
      h5::write_vector(g, "variance", c.variance);
      h5::write_vector(g, "exact_variance", c.exact_variance);
      h5::write_vector(g, "baseline", c.baseline);
    }
  file.commit();
  std::cout << "wrote " << out << "\n";
  return 0;
}

}  // namespace gradest::cli
