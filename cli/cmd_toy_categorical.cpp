// gradest toy-categorical: the categorical toy, q = Cat(softmax(theta)) over C values,
// f(c) = (c/(C-1) - t)^2 (models/toy_categorical.hpp). For each t and each categorical estimator of an
// expectation: `repeats` independent estimates of the C-vector d/dtheta E[f] at theta, their
// per-coordinate mean and variance beside the exact gradient and the estimator's exact mean and
// variance where the toy knows its formula (score function, leave-one-out, self-baseline, IndeCateR,
// straight-through, unordered set, exact).
//
// reinforce-ma's baseline is first warmed up by --warmup estimate/learn steps at theta, then frozen
// for the repeats (its exact variance is that of the frozen baseline).
//
// Statistics printed and stored, per coordinate j over the R repeats: mean m_j, variance s2_j
// (divisor R - 1) and its standard error se(s2_j) = sqrt((m4_j - s2_j^2) / R) (m4 the empirical
// fourth central moment; valid for any distribution of the estimate, large R). The table shows
// z(true) = max_j |m_j - true_j| / (s_j / sqrt R) (large for a biased estimator), z(exact), the same
// against the estimator's exact mean, the total variance sum_j s2_j against its exact value, and
// z(var) = max_j |s2_j - exact_j| / se(s2_j). Estimates that vary only by float32 rounding (sd below
// 1e-5 of the largest gradient coordinate: exact, IndeCateR on one latent, unordered-set with S = C)
// have no z; their largest |m_j - exact_j| relative to the gradient is printed instead.
//
// HDF5 (float64; T = number of t values, C categories):
//   /toy_categorical attributes: categories, repeats, samples, warmup, estimators, then every option
//       declared by the estimators the toy runs (integers int64, reals float64, the rest text)
//   /toy_categorical/theta [C], /toy_categorical/t [T], /toy_categorical/f [T x C] (the table f(c)),
//   /toy_categorical/true_gradient [T x C], /toy_categorical/expected_value [T]
//   /toy_categorical/estimators/<name>/{mean,variance,variance_se,exact_mean,exact_variance} [T x C],
//       {total_variance,exact_total_variance} [T]
//       attributes: samples (int64), evaluations_per_estimate (int64), unbiased (int64 0/1)
//       exact_* are NaN where the toy does not know the estimator's formula (or its exact sums would
//       take more than a few seconds, models/toy_categorical.hpp); reinforce-ma also has baseline [T],
//       the frozen baseline its estimates and exact moments use.
//
// Randomness: cell (t, estimator) draws from Rng::stream(seed, {"toy-categorical", bits(t), estimator}),
// its children 1 (warm-up) and 2 (repeats).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <bit>
#include <cmath>
#include <iostream>
#include <limits>

#include "cli/commands.hpp"
#include "cli/toy_estimators.hpp"
#include "core/limits.hpp"
#include "estimators/reinforce_ma.hpp"
#include "run/toy_categorical.hpp"
#include "store/h5io.hpp"

namespace gradest::cli {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kMaxCategories = 1024;
constexpr double kMaxLogitSpread = 80;  // float32 softmax: e^-87 is the smallest normal float
constexpr double kFloat32Spread = 16;   // e^-16 ~ 1.1e-7, float32's relative resolution

struct ColumnMoments {
  VectorD mean, variance, variance_se;
};

// Per-column mean, variance (divisor R - 1) and the standard error of the variance.
ColumnMoments column_moments(const MatrixD& x) {
  const double R = double(x.rows());
  ColumnMoments m;
  m.mean = x.colwise().mean().transpose();
  const MatrixD centred = x.rowwise() - m.mean.transpose();
  const VectorD m2 = centred.array().square().colwise().sum().transpose() / R;
  const VectorD m4 = centred.array().square().square().colwise().sum().transpose() / R;
  m.variance = m2 * (R / (R - 1));
  m.variance_se = ((m4 - m2.cwiseAbs2()).cwiseMax(0.0) / R).cwiseSqrt();
  return m;
}

struct Cell {
  ColumnMoments empirical;
  ToyMomentsC exact;
  int samples = 0;
  std::int64_t evaluations = 0;
  double baseline = kNaN;  // reinforce-ma's frozen baseline (its exact moments use it)
};

struct ToyArgs {
  std::string t_text, theta_text, estimators_text, out;
  int categories = 10, samples = 1;
  std::int64_t repeats = 0, warmup = 0;
  std::uint64_t seed = 0;
  bool force = false;
  EstimatorOptions estimator;
  std::vector<double> ts;
  VectorD theta;
  std::vector<ToyEstimator> estimators;
};

void add_arguments(po::options_description& options, ToyArgs& a) {
  // clang-format off
  options.add_options()
      ("categories", po::value(&a.categories)->default_value(10), "number of values C of the latent (2..1024)")
      ("t", po::value(&a.t_text)->default_value("0.45"), "target(s) t of f(c) = (c/(C-1) - t)^2: number, list a,b or range a:b:n")
      ("theta", po::value(&a.theta_text)->default_value("0"), "logits of q = Cat(softmax(theta)): one number (all C equal) or C numbers (list a,b,... or range a:b:C)")
      ("repeats", po::value(&a.repeats)->default_value(10000), "independent estimates per (t, estimator) (>= 2)")
      ("estimators", po::value(&a.estimators_text)->default_value(toy_estimator_names(LatentKind::categorical)), "comma list of categorical ELBO estimators")
      ("samples", po::value(&a.samples)->default_value(1), "samples S; raised to an estimator's minimum");
  add_toy_estimator_options(options, LatentKind::categorical);
  options.add_options()
      ("warmup", po::value(&a.warmup)->default_value(100), "reinforce-ma baseline warm-up steps at theta before the repeats (>= 0)")
      ("seed", po::value(&a.seed)->default_value(1), "random seed")
      ("out", po::value(&a.out)->default_value("results/toy_categorical.h5"), "HDF5 output file")
      ("force", po::bool_switch(&a.force), "overwrite --out if it exists");
  // clang-format on
}

void finish_args(const po::variables_map& vm, ToyArgs& a) {
  if (a.categories < 2 || a.categories > kMaxCategories)
    throw UsageError(fmt::format("option '--categories': must be an integer from 2 to {}, got {}", kMaxCategories,
                                 a.categories));
  a.ts = parse_real_list(a.t_text, "t");
  require_distinct(a.ts, "t");
  for (double t : a.ts)
    if (!std::isfinite(t)) throw UsageError(fmt::format("option '--t': every t must be a finite number, got {}", t));
  const std::vector<double> theta = parse_real_list(a.theta_text, "theta");
  if (theta.size() != 1 && theta.size() != std::size_t(a.categories))
    throw UsageError(fmt::format("option '--theta': give one number or C = {} numbers, got {}", a.categories,
                                 theta.size()));
  a.theta = theta.size() == 1 ? VectorD::Constant(a.categories, theta[0])
                              : VectorD(Eigen::Map<const VectorD>(theta.data(), Index(theta.size())));
  for (double x : theta)
    if (!std::isfinite(x)) throw UsageError(fmt::format("option '--theta': every logit must be a finite number, got {}", x));
  if (a.theta.maxCoeff() - a.theta.minCoeff() > kMaxLogitSpread)
    throw UsageError(fmt::format("option '--theta': logits at most {} apart (the estimators compute in float32, "
                                 "whose probabilities underflow near e^-87); got a spread of {}",
                                 kMaxLogitSpread, a.theta.maxCoeff() - a.theta.minCoeff()));
  if (a.repeats < 2) throw UsageError(fmt::format("option '--repeats': must be an integer >= 2, got {}", a.repeats));
  if (a.samples < 1) throw UsageError(fmt::format("option '--samples': must be an integer >= 1, got {}", a.samples));
  if (a.warmup < 0) throw UsageError(fmt::format("option '--warmup': must be an integer >= 0, got {}", a.warmup));
  read_toy_estimator_options(vm, LatentKind::categorical, a.estimator);
  a.estimators = toy_estimators(a.estimators_text, LatentKind::categorical, a.estimator, a.samples, a.categories);
  // Work and memory before anything is drawn (core/limits.hpp). Per estimate: S samples of C values,
  // each evaluation O(C); indecater evaluates all C values of each sample (S*C rows of C columns, held
  // twice: the sample matrix and the objective's copy), exact all C configurations. Each cell holds
  // repeats x C estimates.
  const double C = double(a.categories), R = double(a.warmup) + double(a.repeats);
  double work = 0, largest_rows = 0;
  for (const auto& e : a.estimators) {
    const double S = double(e.options.samples);
    const double rows = e.name == "indecater" ? S * C : e.name == "exact" ? C : S;
    work += R * rows * C;
    largest_rows = std::max(largest_rows, rows);
  }
  work *= double(a.ts.size());
  const std::string subject = fmt::format("--samples {} with --repeats {} and --categories {}", a.samples, a.repeats,
                                          a.categories);
  if (auto problem = limits::work_shortfall(subject, work, "--samples, --repeats or --categories"); !problem.empty())
    throw UsageError(problem);
  limits::require_memory(subject, "one cell's estimates and one estimate's samples",
                         8 * 3 * double(a.repeats) * C + 3 * 4 * largest_rows * C, "--repeats, --samples or --categories");
}

Cell run_cell(const ToyArgs& a, const ToyEstimator& spec, ToyCategorical& toy, const Rng& cell_rng) {
  std::string error;
  auto estimator = make_estimator(spec.name, spec.options, LatentKind::categorical, &error);
  if (!estimator) throw UsageError(error);
  {  // warm-up of stateful baselines at theta
    Rng rng = cell_rng.child(1);
    const StochasticNode node = toy_categorical_node(a.theta);
    NodeGradient grad;
    for (std::int64_t w = 0; w < a.warmup; ++w) {
      grad.reset_like(node);
      estimator->estimate(node, toy, rng, grad);
      estimator->learn(rng);
    }
  }
  Cell cell;
  if (const auto* ma = dynamic_cast<const ReinforceMA*>(estimator.get())) cell.baseline = ma->baseline();
  Rng rng = cell_rng.child(2);
  toy.reset_evaluations();
  cell.empirical = column_moments(toy_categorical_draws(*estimator, toy, a.theta, a.repeats, rng));
  cell.evaluations = toy.evaluations() / a.repeats;
  cell.samples = estimator->options().samples;
  if (auto exact = toy_categorical_exact_moments(*estimator, toy, a.theta)) cell.exact = *exact;
  else cell.exact = {VectorD::Constant(a.categories, kNaN), VectorD::Constant(a.categories, kNaN)};
  return cell;
}

// Estimates that vary only by float32 rounding (IndeCateR on one latent, exact, unordered-set with
// S = C): every coordinate's sd below kRoundingSpread times the largest true gradient coordinate.
constexpr double kRoundingSpread = 1e-5;
bool rounding_only(const Cell& c, const VectorD& truth) {
  const double sd = c.empirical.variance.cwiseSqrt().maxCoeff();
  return sd == 0 || sd <= kRoundingSpread * truth.cwiseAbs().maxCoeff();
}

// max_j |mean_j - reference_j| / (sd_j / sqrt R) over the coordinates whose estimates vary; NaN if none.
double max_mean_z(const Cell& c, const VectorD& reference, double repeats) {
  double z = kNaN;
  for (Index j = 0; j < reference.size(); ++j) {
    const double se = std::sqrt(c.empirical.variance(j) / repeats);
    if (se > 0 && std::isfinite(reference(j))) z = std::fmax(z, std::abs(c.empirical.mean(j) - reference(j)) / se);
  }
  return z;
}

std::string cell_text(double x, const char* format) { return std::isfinite(x) ? fmt::format(fmt::runtime(format), x) : "-"; }

void print_results(const ToyArgs& a, const std::vector<std::vector<Cell>>& cells) {
  std::cout << fmt::format(
      "categorical toy: q = Cat(softmax(theta)), C = {}, f(c) = (c/(C-1) - t)^2, theta = [{:g}]; {} estimates per "
      "cell\n",
      a.categories, fmt::join(a.theta, ", "), a.repeats);
  const double R = double(a.repeats);
  if (a.theta.maxCoeff() - a.theta.minCoeff() > kFloat32Spread)
    std::cout << fmt::format(
        "note: logits more than {:g} apart: the smallest probabilities are below float32's resolution of the largest "
        "(e^-{:g} = {:.1e}), so the estimators' float32 estimates cannot resolve those coordinates; large z there "
        "measures float32 precision, not bias\n",
        kFloat32Spread, kFloat32Spread, std::exp(-kFloat32Spread));
  for (std::size_t ti = 0; ti < a.ts.size(); ++ti) {
    const ToyCategorical toy(a.categories, a.ts[ti]);
    const VectorD truth = toy.exact_gradient(a.theta);
    std::cout << fmt::format("\nt = {:g}: true gradient [{:.4e}]\n", a.ts[ti], fmt::join(truth, ", "));
    std::cout << fmt::format("{:<24} {:>3} {:>6} {:>8} {:>8} {:>11} {:>11} {:>7} {:>7} {:>11}\n", "estimator", "S",
                             "evals", "z(true)", "z(exact)", "total var", "exact var", "ratio", "z(var)", "var x evals");
    for (std::size_t e = 0; e < a.estimators.size(); ++e) {
      const Cell& c = cells[ti][e];
      const double total = c.empirical.variance.sum(), exact_total = c.exact.variance.sum();
      const bool flat = rounding_only(c, truth);
      double z_var = kNaN;
      for (int j = 0; j < a.categories && !flat; ++j)
        if (c.empirical.variance_se(j) > 0 && std::isfinite(c.exact.variance(j)))
          z_var = std::fmax(z_var, std::abs(c.empirical.variance(j) - c.exact.variance(j)) / c.empirical.variance_se(j));
      std::string note = find_estimator(a.estimators[e].name)->info->unbiased ? "" : "  (BIASED)";
      if (flat) {
        const double error = (c.empirical.mean - c.exact.mean).cwiseAbs().maxCoeff(), scale = truth.cwiseAbs().maxCoeff();
        note += scale > 0 ? fmt::format("  (no spread beyond float32 rounding; max |mean - exact| / max |gradient| = {:.1e})",
                                        error / scale)
                          : fmt::format("  (no spread; max |mean - exact| = {:.1e}, the gradient is 0)", error);
      }
      std::cout << fmt::format("{:<24} {:>3} {:>6} {:>8} {:>8} {:>11.4e} {:>11} {:>7} {:>7} {:>11.4e}{}\n",
                               a.estimators[e].name, c.samples, c.evaluations,
                               cell_text(flat ? kNaN : max_mean_z(c, truth, R), "{:.2f}"),
                               cell_text(flat ? kNaN : max_mean_z(c, c.exact.mean, R), "{:.2f}"), total,
                               cell_text(exact_total, "{:.4e}"),
                               exact_total > 0 && !flat ? cell_text(total / exact_total, "{:.3f}") : "-",
                               cell_text(z_var, "{:.2f}"), total * double(c.evaluations), note);
    }
  }
  std::cout << fmt::format(
      "(z(true), z(exact): largest over the C coordinates of |mean - reference| / (sd / sqrt({0})); z(var): largest "
      "|variance - exact| / its standard error sqrt((m4 - s^4) / {0}); ratio = total variance / exact)\n",
      a.repeats);
}

std::string config_text(const ToyArgs& a) {
  std::vector<std::string> names;
  for (const auto& e : a.estimators) names.push_back(e.name);
  return fmt::format(
      "command = toy-categorical\ncategories = {}\nt = {}\ntheta = {}\nrepeats = {}\nestimators = {}\nsamples = {}\n{}"
      "warmup = {}\nseed = {}\nout = {}\nforce = {}\n",
      a.categories, a.t_text, a.theta_text, a.repeats, fmt::join(names, ","), a.samples,
      toy_option_config_text(a.estimator, LatentKind::categorical), a.warmup, a.seed, a.out, a.force);
}

void write_results(h5::OutputFile& file, const ToyArgs& a, const std::vector<std::vector<Cell>>& cells) {
  const Index T = Index(a.ts.size()), C = a.categories;
  H5::Group group = h5::ensure_group(file.file(), "/toy_categorical");
  std::vector<std::string> names;
  for (const auto& e : a.estimators) names.push_back(e.name);
  h5::write_attribute(group, "categories", std::int64_t{a.categories});
  h5::write_attribute(group, "repeats", a.repeats);
  h5::write_attribute(group, "samples", std::int64_t{a.samples});
  h5::write_attribute(group, "warmup", a.warmup);
  h5::write_attribute(group, "estimators", fmt::format("{}", fmt::join(names, ",")));
  write_toy_option_attributes(group, a.estimator, LatentKind::categorical);
  h5::write_vector(group, "theta", std::vector<double>(a.theta.data(), a.theta.data() + C));
  h5::write_vector(group, "t", a.ts);
  MatrixD f(T, C), truth(T, C);
  std::vector<double> expected;
  for (Index ti = 0; ti < T; ++ti) {
    const ToyCategorical toy(a.categories, a.ts[ti]);
    f.row(ti) = toy.values().transpose();
    truth.row(ti) = toy.exact_gradient(a.theta).transpose();
    expected.push_back(toy.expected_value(a.theta));
  }
  h5::write_matrix(group, "f", f);
  h5::write_matrix(group, "true_gradient", truth);
  h5::write_vector(group, "expected_value", expected);
  for (std::size_t e = 0; e < names.size(); ++e) {
    H5::Group g = h5::ensure_group(file.file(), "/toy_categorical/estimators/" + names[e]);
    MatrixD mean(T, C), variance(T, C), variance_se(T, C), exact_mean(T, C), exact_variance(T, C);
    std::vector<double> total, exact_total;
    for (Index ti = 0; ti < T; ++ti) {
      const Cell& c = cells[ti][e];
      mean.row(ti) = c.empirical.mean.transpose();
      variance.row(ti) = c.empirical.variance.transpose();
      variance_se.row(ti) = c.empirical.variance_se.transpose();
      exact_mean.row(ti) = c.exact.mean.transpose();
      exact_variance.row(ti) = c.exact.variance.transpose();
      total.push_back(c.empirical.variance.sum());
      exact_total.push_back(c.exact.variance.sum());
    }
    h5::write_attribute(g, "samples", std::int64_t{cells[0][e].samples});
    h5::write_attribute(g, "evaluations_per_estimate", cells[0][e].evaluations);
    h5::write_attribute(g, "unbiased", std::int64_t{find_estimator(names[e])->info->unbiased ? 1 : 0});
    if (std::isfinite(cells[0][e].baseline)) {  // reinforce-ma: the frozen baseline per t
      std::vector<double> baseline;
      for (Index ti = 0; ti < T; ++ti) baseline.push_back(cells[ti][e].baseline);
      h5::write_vector(g, "baseline", baseline);
    }
    h5::write_matrix(g, "mean", mean);
    h5::write_matrix(g, "variance", variance);
    h5::write_matrix(g, "variance_se", variance_se);
    h5::write_matrix(g, "exact_mean", exact_mean);
    h5::write_matrix(g, "exact_variance", exact_variance);
    h5::write_vector(g, "total_variance", total);
    h5::write_vector(g, "exact_total_variance", exact_total);
  }
}

}  // namespace

int run_toy_categorical(const std::vector<std::string>& args, const Context& context) {
  ToyArgs a;
  po::options_description options("toy-categorical options");
  add_arguments(options, a);
  po::variables_map vm;
  if (!parse(args, options, nullptr, vm)) {
    print_help("toy-categorical",
               "[--categories 10] [--t 0.45] [--theta 0 | --theta a,b,...] [--repeats R] [--estimators a,b] "
               "[--samples S] --out FILE.h5",
               options);
    return 0;
  }
  finish_args(vm, a);
  h5::check_output_path(a.out, a.force);

  const std::size_t T = a.ts.size(), E = a.estimators.size();
  std::vector<std::vector<Cell>> cells(T, std::vector<Cell>(E));
  for (std::size_t ti = 0; ti < T; ++ti)
    for (std::size_t e = 0; e < E; ++e) {
      ToyCategorical toy(a.categories, a.ts[ti]);
      const Rng cell_rng = Rng::stream(a.seed, {stable_hash("toy-categorical"), std::bit_cast<std::uint64_t>(a.ts[ti]),
                                                stable_hash(a.estimators[e].name)});
      cells[ti][e] = run_cell(a, a.estimators[e], toy, cell_rng);
    }
  print_results(a, cells);

  h5::OutputFile file(a.out, a.force, h5::RunMetadata{context.command_line, a.seed, config_text(a)});
  write_results(file, a, cells);
  file.commit();
  std::cout << "wrote " << a.out << "\n";
  return 0;
}

}  // namespace gradest::cli
