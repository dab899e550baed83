// gradest x2: the x^2 variance example. Options, the table and the output file are here; the
// example, the /x2 layout and the randomness are in run/x2_driver.hpp.
//
// HDF5: /x2 (run/x2_driver.hpp) and the root attributes gradest_version, git_commit,
// schema_version, command_line, seed, config, date_utc.
#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <thread>

#include "cli/commands.hpp"
#include "models/toy_x2.hpp"
#include "run/x2_driver.hpp"
#include "store/h5io.hpp"

namespace gradest::cli {
namespace {

int default_threads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

void print_table(const X2Options& options, const X2Result& result) {
  std::cout << fmt::format("x^2 example: q = N(phi, 1), f(z) = z^2, gradient d/dphi E[z^2] = 2 phi; {} estimates per cell\n",
                           options.repeats);
  const auto& s = result.estimators[0];
  const auto& w = result.estimators[1];
  for (std::size_t p = 0; p < options.phi.size(); ++p) {
    const double phi = options.phi[p];
    std::cout << fmt::format("\nphi = {:g}: true gradient {:g}; exact single-sample variances: score function {:g}, pathwise {:g}\n",
                             phi, x2::true_gradient(phi), x2::score_function_variance(phi), x2::pathwise_variance(phi));
    std::cout << fmt::format("{:>8} | {:>10} {:>11} {:>11} | {:>10} {:>11} {:>11} | {:>9} {:>9}\n", "N", "score mean",
                             "score var", "exact", "path mean", "path var", "exact", "var ratio", "exact");
    for (std::size_t m = 0; m < options.n.size(); ++m) {
      const Index i = static_cast<Index>(p), j = static_cast<Index>(m);
      std::cout << fmt::format("{:>8} | {:>10.5f} {:>11.4e} {:>11.4e} | {:>10.5f} {:>11.4e} {:>11.4e} | {:>9.2f} {:>9.2f}\n",
                               options.n[m], s.mean(i, j), s.variance(i, j), s.exact(i, j), w.mean(i, j), w.variance(i, j),
                               w.exact(i, j), s.variance(i, j) / w.variance(i, j), s.exact(i, j) / w.exact(i, j));
    }
  }
  std::cout << fmt::format("(var ratio: score-function variance / pathwise variance, empirical and exact; the "
                           "empirical variance's relative standard error is about sqrt(2/{}) = {:.1f}%)\n",
                           options.repeats - 1, 100.0 * std::sqrt(2.0 / double(options.repeats - 1)));
}

}  // namespace

int run_x2(const std::vector<std::string>& args, const Context& context) {
  std::string phi_text, n_text, out;
  X2Options example;
  bool force = false;
  po::options_description options("x2 options");
  options.add_options()
      ("phi", po::value(&phi_text)->default_value("2"), "mean(s) of q = N(phi, 1): a number, list a,b,c or range start:stop:count")
      ("n", po::value(&n_text)->default_value("10,100,1000,10000,100000"), "samples per estimate N: integers >= 1, list or range a..b")
      ("repeats", po::value(&example.repeats)->default_value(1000), "independent N-sample estimates per cell (>= 2)")
      ("seed", po::value(&example.seed)->default_value(1), "random seed")
      ("threads", po::value(&example.threads)->default_value(default_threads()), "threads over the cells (>= 1); results do not depend on it")
      ("out", po::value(&out)->default_value("results/x2.h5"), "HDF5 output file")
      ("force", po::bool_switch(&force), "overwrite --out if it exists");
  po::variables_map vm;
  if (!parse(args, options, nullptr, vm)) {
    print_help("x2", "[--phi 2] [--n 10,100,1000,10000,100000] [--repeats 1000] [--seed 1] [--out results/x2.h5] [--force]", options);
    return 0;
  }
  example.phi = parse_real_list(phi_text, "phi");
  example.n = parse_int_list(n_text, "n");
  require_distinct(example.phi, "phi");
  require_distinct(example.n, "n");
  if (std::string error; !example.valid(&error)) throw UsageError(error);
  h5::check_output_path(out, force);

  const X2Result result = gradest::run_x2(example);
  print_table(example, result);

  h5::RunMetadata metadata{context.command_line, example.seed,
                           fmt::format("command = x2\nphi = {}\nn = {}\nrepeats = {}\nseed = {}\nout = {}\nforce = {}\n"
                                       "threads = {}\n",
                                       phi_text, n_text, example.repeats, example.seed, out, force, example.threads)};
  h5::OutputFile file(out, force, metadata);
  write_x2(file.file(), example, result);
  file.commit();
  std::cout << "wrote " << out << "\n";
  return 0;
}

}  // namespace gradest::cli
