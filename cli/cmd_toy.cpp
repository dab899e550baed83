// gradest toy: the Gaussian test problems of Mohamed et al. (2020, section 3). Options, the table
// and the output file are here; the problems, the /toy layout and the randomness are in
// run/toy_gaussian_driver.hpp.
//
// HDF5: /toy (run/toy_gaussian_driver.hpp) and the root attributes gradest_version, git_commit,
// schema_version, command_line, seed, config, date_utc.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.hpp"
#include "run/toy_gaussian_driver.hpp"
#include "store/h5io.hpp"

namespace gradest::cli {

namespace {

void print_row(const GaussianToyOptions& options, const GaussianToyResult& result, std::size_t i, GaussianToyEstimator e) {
  const auto& cm = result.column(e, GaussianParameter::mu);
  const auto& cs = result.column(e, GaussianParameter::sigma);
  std::cout << fmt::format("{:>8.4g} {:<32} | {:>9.4f} {:>9.4f} {:>10.4g} {:>10.4g} | {:>9.4f} {:>9.4f} {:>10.4g} {:>10.4g}\n",
                           options.k[i], to_string(e), result.true_gradient[0][i], cm.mean[i], cm.exact_variance[i],
                           cm.variance[i], result.true_gradient[1][i], cs.mean[i], cs.exact_variance[i], cs.variance[i]);
}

}  // namespace

int run_toy(const std::vector<std::string>& args, const Context& context) {
  std::string cost_text, k_text, out;
  GaussianToyOptions toy;
  bool force = false;
  po::options_description options("toy options");
  options.add_options()
      ("cost", po::value(&cost_text)->default_value("square"), ("test cost: " + gaussian_cost_names()).c_str())
      ("k", po::value(&k_text)->default_value("1"), "the cost's parameter: a number, list a,b,c or range start:stop:count")
      ("mu", po::value(&toy.mu)->default_value(1.0), "mean of q = N(mu, sigma^2)")
      ("sigma", po::value(&toy.sigma)->default_value(1.0), "standard deviation of q (> 0)")
      ("samples", po::value(&toy.samples)->default_value(1), "samples S per estimate (>= 1)")
      ("repeats", po::value(&toy.repeats)->default_value(10000), "independent estimates per (k, estimator) (>= 2)")
      ("seed", po::value(&toy.seed)->default_value(1), "random seed")
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
  toy.cost = *cost;
  toy.k = parse_real_list(k_text, "k");
  require_distinct(toy.k, "k");
  if (std::string error; !toy.valid(&error)) throw UsageError(error);
  h5::check_output_path(out, force);

  std::cout << fmt::format("Gaussian test cost '{}' (Mohamed et al. 2020, section 3): q = N({:g}, {:g}^2), {} estimates of {} sample{} each per cell\n",
                           to_string(toy.cost), toy.mu, toy.sigma, toy.repeats, toy.samples, toy.samples == 1 ? "" : "s");
  std::cout << fmt::format("{:>8} {:<32} | {:>9} {:>9} {:>10} {:>10} | {:>9} {:>9} {:>10} {:>10}\n", "k", "estimator",
                           "d/dmu", "mean", "exact var", "var", "d/dsigma", "mean", "exact var", "var");
  const GaussianToyResult result = run_gaussian_toy(
      toy, [&](const GaussianToyResult& so_far, std::size_t i, GaussianToyEstimator e) { print_row(toy, so_far, i, e); });
  if (!result.converged)
    std::cerr << "gradest toy: warning: quadrature did not reach its tolerance for some k; see /toy/quadrature_error\n";
  std::cout << fmt::format("(exact: by quadrature; var: unbiased sample variance over {} estimates, relative standard error "
                           "about sqrt((kurtosis - 1)/{}))\n",
                           toy.repeats, toy.repeats);

  h5::RunMetadata metadata{context.command_line, toy.seed,
                           fmt::format("command = toy\ncost = {}\nk = {}\nmu = {}\nsigma = {}\nsamples = {}\nrepeats = {}\n"
                                       "seed = {}\nout = {}\nforce = {}\n",
                                       to_string(toy.cost), k_text, toy.mu, toy.sigma, toy.samples, toy.repeats, toy.seed,
                                       out, force)};
  h5::OutputFile file(out, force, metadata);
  write_gaussian_toy(file.file(), toy, result);
  file.commit();
  std::cout << "wrote " << out << "\n";
  return 0;
}

}  // namespace gradest::cli
