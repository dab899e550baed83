// gradest x2: the x^2 variance example. q = N(phi, 1), f(z) = z^2; for each phi and N, `repeats`
// independent N-sample estimates of d/dphi E[z^2] = 2 phi by the score function (the registered
// `reinforce`) and the pathwise estimator, their empirical mean and variance beside the exact
// variances (phi^4 + 14 phi^2 + 15)/N and 4/N.
//
// HDF5 (float64 unless stated; P = number of phi values, M = number of N values):
//   /x2/phi [P], /x2/n [M] int64, /x2/true_gradient [P]
//   /x2/score_function/{mean,variance,exact_variance} [P x M]
//   /x2/pathwise/{mean,variance,exact_variance}       [P x M]
//   /x2 attributes: repeats; each estimator group: estimator (its registered name)
//   root attributes: gradest_version, git_commit, schema_version, command_line, seed, config, date_utc
// variance is the unbiased sample variance (divisor repeats - 1) of the N-sample estimates.
//
// Randomness: cell (phi, N, estimator) draws from Rng::stream(seed, {"x2", bits(phi), N,
// estimator}), so a cell's numbers do not depend on the other cells or their order.
#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <iostream>
#include <thread>

#include "cli/commands.hpp"
#include "run/gaussian_draws.hpp"
#include "store/h5io.hpp"
#include "models/toy_x2.hpp"

namespace gradest::cli {
namespace {

struct X2Estimator {
  const char* group;       // HDF5 group and table label
  const char* registered;  // name in estimators/registry.cpp
  double (*exact_variance)(double phi);
};
constexpr X2Estimator kX2Estimators[] = {
    {"score_function", "reinforce", &x2::score_function_variance},
    {"pathwise", "pathwise", &x2::pathwise_variance},
};

int default_threads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

}  // namespace

int run_x2(const std::vector<std::string>& args, const Context& context) {
  std::string phi_text, n_text, out;
  std::int64_t repeats = 0;
  std::uint64_t seed = 0;
  int threads = 0;
  bool force = false;
  po::options_description options("x2 options");
  options.add_options()
      ("phi", po::value(&phi_text)->default_value("2"), "mean(s) of q = N(phi, 1): a number, list a,b,c or range start:stop:count")
      ("n", po::value(&n_text)->default_value("10,100,1000,10000,100000"), "samples per estimate N: integers >= 1, list or range a..b")
      ("repeats", po::value(&repeats)->default_value(1000), "independent N-sample estimates per cell (>= 2)")
      ("seed", po::value(&seed)->default_value(1), "random seed")
      ("threads", po::value(&threads)->default_value(default_threads()), "threads over the cells (>= 1); results do not depend on it")
      ("out", po::value(&out)->default_value("results/x2.h5"), "HDF5 output file")
      ("force", po::bool_switch(&force), "overwrite --out if it exists");
  po::variables_map vm;
  if (!parse(args, options, nullptr, vm)) {
    print_help("x2", "[--phi 2] [--n 10,100,1000,10000,100000] [--repeats 1000] [--seed 1] [--out results/x2.h5] [--force]", options);
    return 0;
  }
  const std::vector<double> phis = parse_real_list(phi_text, "phi");
  const std::vector<std::int64_t> ns = parse_int_list(n_text, "n");
  for (auto n : ns)
    if (n < 1) throw UsageError(fmt::format("option '--n': every N must be an integer >= 1, got {}", n));
  if (repeats < 2) throw UsageError(fmt::format("option '--repeats': must be an integer >= 2, got {}", repeats));
  if (threads < 1) throw UsageError(fmt::format("option '--threads': must be an integer >= 1, got {}", threads));
  h5::check_output_path(out, force);

  const Index P = static_cast<Index>(phis.size()), M = static_cast<Index>(ns.size());
  struct Result {
    MatrixD mean, variance, exact;
  };
  std::vector<Result> results(std::size(kX2Estimators), Result{MatrixD(P, M), MatrixD(P, M), MatrixD(P, M)});
  const std::size_t E = std::size(kX2Estimators);
  // Largest N first, so the long cells start early.
  for_each_cell(static_cast<std::size_t>(P * M) * E, threads, [&](std::size_t cell) {
        const std::size_t e = cell % E;
        const Index m = M - 1 - static_cast<Index>((cell / E) % M), p = static_cast<Index>(cell / E / M);
        const auto& est = kX2Estimators[e];
        Rng rng = Rng::stream(seed, {stable_hash("x2"), std::bit_cast<std::uint64_t>(phis[p]),
                                     static_cast<std::uint64_t>(ns[m]), stable_hash(est.registered)});
        auto estimate = registered_estimator(est.registered, [](Index batch) { return std::make_unique<X2Objective>(batch); });
        const GaussianDraws draws = draw_gaussian_estimates(phis[p], 1.0, ns[m], repeats, estimate, rng);
        const SampleMoments moments = sample_moments(draws.d_mu);
        results[e].mean(p, m) = moments.mean;
        results[e].variance(p, m) = moments.variance;
        results[e].exact(p, m) = est.exact_variance(phis[p]) / static_cast<double>(ns[m]);
      });

  std::cout << fmt::format("x^2 example: q = N(phi, 1), f(z) = z^2, gradient d/dphi E[z^2] = 2 phi; {} estimates per cell\n",
                           repeats);
  for (Index p = 0; p < P; ++p) {
    std::cout << fmt::format("\nphi = {:g}: true gradient {:g}; exact single-sample variances: score function {:g}, pathwise {:g}\n",
                             phis[p], x2::true_gradient(phis[p]), x2::score_function_variance(phis[p]),
                             x2::pathwise_variance(phis[p]));
    std::cout << fmt::format("{:>8} | {:>10} {:>11} {:>11} | {:>10} {:>11} {:>11} | {:>9} {:>9}\n", "N", "score mean",
                             "score var", "exact", "path mean", "path var", "exact", "var ratio", "exact");
    for (Index m = 0; m < M; ++m) {
      const auto& s = results[0];
      const auto& w = results[1];
      std::cout << fmt::format("{:>8} | {:>10.5f} {:>11.4e} {:>11.4e} | {:>10.5f} {:>11.4e} {:>11.4e} | {:>9.2f} {:>9.2f}\n",
                               ns[m], s.mean(p, m), s.variance(p, m), s.exact(p, m), w.mean(p, m), w.variance(p, m),
                               w.exact(p, m), s.variance(p, m) / w.variance(p, m), s.exact(p, m) / w.exact(p, m));
    }
  }
  std::cout << fmt::format("(var ratio: score-function variance / pathwise variance, empirical and exact; the "
                           "empirical variance's relative standard error is about sqrt(2/{}) = {:.1f}%)\n",
                           repeats - 1, 100.0 * std::sqrt(2.0 / double(repeats - 1)));

  h5::RunMetadata metadata{context.command_line, seed,
                           fmt::format("command = x2\nphi = {}\nn = {}\nrepeats = {}\nseed = {}\nout = {}\nforce = {}\n"
                                       "threads = {}\n",
                                       phi_text, n_text, repeats, seed, out, force, threads)};
  h5::OutputFile file(out, force, metadata);
  H5::Group group = h5::ensure_group(file.file(), "/x2");
  h5::write_attribute(group, "repeats", repeats);
  h5::write_vector(group, "phi", phis);
  h5::write_vector(group, "n", ns);
  std::vector<double> true_gradient;
  for (double phi : phis) true_gradient.push_back(x2::true_gradient(phi));
  h5::write_vector(group, "true_gradient", true_gradient);
  for (std::size_t e = 0; e < std::size(kX2Estimators); ++e) {
    H5::Group g = h5::ensure_group(file.file(), std::string("/x2/") + kX2Estimators[e].group);
    h5::write_attribute(g, "estimator", std::string(kX2Estimators[e].registered));
    h5::write_matrix(g, "mean", results[e].mean);
    h5::write_matrix(g, "variance", results[e].variance);
    h5::write_matrix(g, "exact_variance", results[e].exact);
  }
  file.commit();
  std::cout << "wrote " << out << "\n";
  return 0;
}

}  // namespace gradest::cli
