// gradest toy-bernoulli: the REBAR/RELAX toy, q = Bern(sigmoid(theta)), f(b) = (b - t)^2 (1-d).
// For each t and each Bernoulli ELBO estimator: `repeats` independent estimates of d/dtheta E[f] at
// theta, their mean and variance beside the exact gradient and the estimator's exact mean and
// variance (models/toy_bernoulli.hpp). With --train, each estimator also minimises E[f] from theta
// by Adam (descent on the estimate) and records the loss and the gradient variance along the way.
//
// reinforce-ma's baseline is first warmed up by --warmup estimate/learn steps at theta, then frozen
// for the repeats (its exact variance is that of the frozen baseline, recorded as baseline).
//
// HDF5 (float64; T = number of t values, N = number of recorded training steps):
//   /toy_bernoulli/t [T], /toy_bernoulli/true_gradient [T], /toy_bernoulli/expected_value [T]
//   /toy_bernoulli attributes: theta, repeats, samples, then every option declared by the estimators
//       the toy runs (temperature, baseline_decay, baseline_hidden, baseline_lr, baseline_centre,
//       baseline_normalise: integers int64, reals float64, the rest text), warmup, estimators
//   /toy_bernoulli/estimators/<name>/{mean,variance,exact_mean,exact_variance} [T]
//       attributes: samples (int64), evaluations_per_estimate (int64), unbiased (int64 0/1)
//       exact_* are NaN where the toy does not know the estimator's formula; variance has divisor repeats - 1.
//   with --train:
//   /toy_bernoulli/train/step [N] int64 (the step at which a row was recorded, before its update)
//   /toy_bernoulli/train/<name>/{loss,theta,variance,exact_variance} [T x N]
//       loss = E_q[f] exactly at the current theta; variance = sample variance of --probe-draws
//       estimates at the current theta (estimator state frozen); exact_variance as above.
//   attributes of /toy_bernoulli/train: steps, lr, record_every, probe_draws
//
// Randomness: cell (t, estimator) draws from Rng::stream(seed, {"toy-bernoulli", bits(t), estimator}),
// its children 1 (warm-up), 2 (repeats), 3 (training) and 4 + i (the i-th training probe).
#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <iostream>
#include <limits>

#include "core/limits.hpp"
#include "estimators/estimator.hpp"
#include "cli/commands.hpp"
#include "cli/toy_estimators.hpp"
#include "store/h5io.hpp"
#include "run/toy_bernoulli.hpp"
#include "models/distributions.hpp"
#include "models/optimizer.hpp"

namespace gradest::cli {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Moments {
  double mean = 0, variance = 0;
};
Moments sample_moments(const std::vector<double>& x) {
  double mean = 0, m2 = 0;  // Welford
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double d = x[i] - mean;
    mean += d / double(i + 1);
    m2 += d * (x[i] - mean);
  }
  return {mean, x.size() > 1 ? m2 / double(x.size() - 1) : kNaN};
}

struct Cell {
  Moments empirical;
  ToyMoments exact{kNaN, kNaN};
  int samples = 0;
  std::int64_t evaluations = 0;
};

struct Trace {
  std::vector<double> loss, theta, variance, exact_variance;
};

struct ToyArgs {
  std::string t_text, estimators_text, out;
  double theta0 = 0.5, lr = 0.01;
  std::int64_t repeats = 0, warmup = 0, steps = 0, record_every = 0, probe_draws = 0;
  int samples = 1;
  std::uint64_t seed = 0;
  bool train = false, force = false;
  EstimatorOptions estimator;  // the declared options as given (their defaults otherwise)
  std::vector<double> ts;
  std::vector<std::string> names;
  std::vector<EstimatorOptions> options;  // per estimator (samples raised to its minimum)
};

void add_toy_arguments(po::options_description& options, ToyArgs& a) {
  // clang-format off
  options.add_options()
      ("t", po::value(&a.t_text)->default_value("0.45"), "target(s) t of f(b) = (b - t)^2: number, list a,b or range a:b:n")
      ("theta", po::value(&a.theta0)->default_value(0.5), "logit theta of q = Bern(sigmoid(theta)) (and the training start)")
      ("repeats", po::value(&a.repeats)->default_value(10000), "independent estimates per (t, estimator) (>= 2)")
      ("estimators", po::value(&a.estimators_text)->default_value(toy_estimator_names(LatentKind::bernoulli)), "comma list of Bernoulli ELBO estimators")
      ("samples", po::value(&a.samples)->default_value(1), "samples S (pairs for arm/disarm); raised to an estimator's minimum");
  add_toy_estimator_options(options, LatentKind::bernoulli);
  options.add_options()
      ("warmup", po::value(&a.warmup)->default_value(100), "reinforce-ma baseline warm-up steps at theta before the repeats (>= 0)")
      ("train", po::bool_switch(&a.train), "also train theta with each estimator (Adam, descent on E[f])")
      ("steps", po::value(&a.steps)->default_value(2000), "training steps (>= 1)")
      ("lr", po::value(&a.lr)->default_value(0.01), "Adam learning rate (> 0)")
      ("record-every", po::value(&a.record_every)->default_value(10), "record loss and variance every E steps (>= 1)")
      ("probe-draws", po::value(&a.probe_draws)->default_value(200), "estimates per recorded variance (>= 2)")
      ("seed", po::value(&a.seed)->default_value(1), "random seed")
      ("out", po::value(&a.out)->default_value("results/toy_bernoulli.h5"), "HDF5 output file")
      ("force", po::bool_switch(&a.force), "overwrite --out if it exists");
  // clang-format on
}

void check_toy_numbers(const ToyArgs& a) {
  for (double t : a.ts)
    if (!std::isfinite(t)) throw UsageError(fmt::format("option '--t': every t must be a finite number, got {}", t));
  if (!std::isfinite(a.theta0))
    throw UsageError(fmt::format("option '--theta': must be a finite number, got {}", a.theta0));
  if (a.repeats < 2) throw UsageError(fmt::format("option '--repeats': must be an integer >= 2, got {}", a.repeats));
  if (a.samples < 1) throw UsageError(fmt::format("option '--samples': must be an integer >= 1, got {}", a.samples));
  if (a.warmup < 0) throw UsageError(fmt::format("option '--warmup': must be an integer >= 0, got {}", a.warmup));
  if (!a.train) return;
  if (a.steps < 1) throw UsageError(fmt::format("option '--steps': must be an integer >= 1, got {}", a.steps));
  if (!(a.lr > 0) || !std::isfinite(a.lr)) throw UsageError(fmt::format("option '--lr': must be > 0, got {}", a.lr));
  if (a.record_every < 1)
    throw UsageError(fmt::format("option '--record-every': must be an integer >= 1, got {}", a.record_every));
  if (a.probe_draws < 2)
    throw UsageError(fmt::format("option '--probe-draws': must be an integer >= 2, got {}", a.probe_draws));
}

// Work and memory before anything is drawn (core/limits.hpp): every estimate holds its S samples
// (pairs for arm/disarm), every cell its repeats.
void check_toy_sizes(const ToyArgs& a) {
  const double samples = double(a.samples), repeats = double(a.repeats);
  const double steps = double(a.warmup) + repeats + (a.train ? double(a.steps) * (1.0 + double(a.probe_draws) /
                                                                                  double(a.record_every)) : 0.0);
  const double draws = 2 * samples * steps * double(a.ts.size()) * double(a.names.size());
  const std::string subject = fmt::format("--samples {} with --repeats {}", a.samples, a.repeats);
  if (auto problem = limits::work_shortfall(subject, draws, "--samples, --repeats, --steps or --probe-draws");
      !problem.empty())
    throw UsageError(problem);
  limits::require_memory(subject, "one cell's estimates and one estimate's samples", 8 * repeats + 64 * samples,
                         "--repeats or --samples");
}

// The parsed command line into checked arguments and one EstimatorOptions per estimator.
void finish_toy_args(const po::variables_map& vm, ToyArgs& a) {
  a.ts = parse_real_list(a.t_text, "t");
  require_distinct(a.ts, "t");
  check_toy_numbers(a);
  read_toy_estimator_options(vm, LatentKind::bernoulli, a.estimator);
  for (auto& [name, options] : toy_estimators(a.estimators_text, LatentKind::bernoulli, a.estimator, a.samples, 2)) {
    a.names.push_back(name);
    a.options.push_back(options);
  }
  check_toy_sizes(a);
}

// Repeated estimates at theta (after the warm-up of stateful baselines) for one (t, estimator).
Cell run_cell(const ToyArgs& a, const std::string& name, const EstimatorOptions& options, ToyBernoulli& toy,
              const Rng& cell_rng) {
  std::string error;
  auto estimator = make_estimator(name, options, LatentKind::bernoulli, &error);
  if (!estimator) throw UsageError(error);
  {  // warm-up of stateful baselines at theta (a no-op for the others' estimates)
    Rng rng = cell_rng.child(1);
    toy_bernoulli_adapt(*estimator, toy, a.theta0, a.warmup, rng);
  }
  Cell cell;
  Rng rng = cell_rng.child(2);
  toy.reset_evaluations();
  const std::vector<double> draws = toy_bernoulli_draws(*estimator, toy, a.theta0, a.repeats, rng);
  cell.empirical = sample_moments(draws);
  cell.evaluations = toy.evaluations() / a.repeats;
  cell.samples = estimator->options().samples;
  if (auto exact = toy_bernoulli_exact_moments(*estimator, toy, a.theta0)) cell.exact = *exact;
  return cell;
}

// Adam descent on E[f] from theta0 with one estimator, recording loss and variance.
Trace train_cell(const ToyArgs& a, const std::string& name, const EstimatorOptions& options, ToyBernoulli& toy,
                 const Rng& cell_rng) {
  std::string error;
  auto trained = make_estimator(name, options, LatentKind::bernoulli, &error);
  if (!trained) throw UsageError(error);
  OptimizerOptions adam;
  adam.kind = OptimizerKind::adam;
  adam.lr.initial = a.lr;
  auto optimizer = Optimizer::make(adam, 1);
  Vector theta = Vector::Constant(1, Real(a.theta0)), descent(1);
  Rng train_rng = cell_rng.child(3);
  Trace trace;
  NodeGradient grad;
  for (std::int64_t step = 0; step <= a.steps; ++step) {
    if (step % a.record_every == 0) {
      Rng probe_rng = cell_rng.child(4 + std::uint64_t(step / a.record_every));
      const double th = theta(0);
      trace.loss.push_back(toy.expected_value(th));
      trace.theta.push_back(th);
      trace.variance.push_back(
          sample_moments(toy_bernoulli_draws(*trained, toy, th, a.probe_draws, probe_rng)).variance);
      const auto exact = toy_bernoulli_exact_moments(*trained, toy, th);
      trace.exact_variance.push_back(exact ? exact->variance : kNaN);
    }
    if (step == a.steps) break;
    const StochasticNode node = toy_bernoulli_node(theta(0));
    grad.reset_like(node);
    trained->estimate(node, toy, train_rng, grad);
    trained->learn(train_rng);
    descent(0) = -grad.d_logits(0, 0);  // the optimiser ascends; the toy's loss is minimised
    optimizer->step(theta, descent);
  }
  return trace;
}

void print_results(const ToyArgs& a, const std::vector<std::vector<Cell>>& cells,
                   const std::vector<std::vector<Trace>>& traces) {
  std::cout << fmt::format(
      "Bernoulli toy: q = Bern(sigmoid(theta)), f(b) = (b - t)^2, theta = {:g}; {} estimates per cell\n", a.theta0,
      a.repeats);
  for (std::size_t ti = 0; ti < a.ts.size(); ++ti) {
    ToyBernoulli toy(a.ts[ti]);
    std::cout << fmt::format("\nt = {:g}: true gradient {:.6e}\n", a.ts[ti], toy.exact_gradient(a.theta0));
    std::cout << fmt::format("{:<24} {:>3} {:>5} {:>13} {:>13} {:>6} {:>11} {:>11} {:>7} {:>11}\n", "estimator", "S",
                             "evals", "mean", "exact mean", "z", "variance", "exact var", "ratio", "var x evals");
    for (std::size_t e = 0; e < a.names.size(); ++e) {
      const Cell& c = cells[ti][e];
      const double se = std::sqrt(c.empirical.variance / double(a.repeats));
      const double z = se > 0 ? (c.empirical.mean - c.exact.mean) / se : kNaN;
      const std::string ratio =
          c.exact.variance > 0 ? fmt::format("{:.3f}", c.empirical.variance / c.exact.variance) : "-";
      std::cout << fmt::format(
          "{:<24} {:>3} {:>5} {:>13.6e} {:>13.6e} {:>6.2f} {:>11.4e} {:>11.4e} {:>7} {:>11.4e}{}\n", a.names[e],
          c.samples, c.evaluations, c.empirical.mean, c.exact.mean, z, c.empirical.variance, c.exact.variance, ratio,
          c.empirical.variance * double(c.evaluations), find_estimator(a.names[e])->info->unbiased ? "" : "  (BIASED)");
    }
    if (!a.train) continue;
    std::cout << fmt::format(
        "training (Adam lr {:g}, {} steps from theta = {:g}): final loss (minimum {:.6f}), theta\n", a.lr, a.steps,
        a.theta0, std::min(toy.f(0), toy.f(1)));
    for (std::size_t e = 0; e < a.names.size(); ++e)
      std::cout << fmt::format("  {:<24} loss {:.6f}  theta {:+.3f}\n", a.names[e], traces[ti][e].loss.back(),
                               traces[ti][e].theta.back());
  }
  std::cout << fmt::format(
      "(z = (mean - exact mean) / (sd / sqrt({})); ratio = variance / exact variance, whose "
      "relative standard error is about sqrt(2/{}) = {:.1f}% for near-normal estimates)\n",
      a.repeats, a.repeats - 1, 100.0 * std::sqrt(2.0 / double(a.repeats - 1)));
}

std::string toy_config_text(const ToyArgs& a) {
  const std::string options = toy_option_config_text(a.estimator, LatentKind::bernoulli);
  return fmt::format(
      "command = toy-bernoulli\nt = {}\ntheta = {}\nrepeats = {}\nestimators = {}\nsamples = {}\n{}"
      "warmup = {}\ntrain = {}\nsteps = {}\nlr = {}\nrecord_every = {}\nprobe_draws = {}\nseed = {}\n"
      "out = {}\nforce = {}\n",
      a.t_text, a.theta0, a.repeats, fmt::join(a.names, ","), a.samples, options, a.warmup, a.train, a.steps, a.lr,
      a.record_every, a.probe_draws, a.seed, a.out, a.force);
}

// The toy's attributes: its own, and each declared estimator option (integers int64, reals
// float64, the rest as text).
void write_toy_attributes(H5::Group& group, const ToyArgs& a) {
  h5::write_attribute(group, "theta", a.theta0);
  h5::write_attribute(group, "repeats", a.repeats);
  h5::write_attribute(group, "samples", std::int64_t{a.samples});
  write_toy_option_attributes(group, a.estimator, LatentKind::bernoulli);
  h5::write_attribute(group, "warmup", a.warmup);
  h5::write_attribute(group, "estimators", fmt::format("{}", fmt::join(a.names, ",")));
}

void write_estimator_groups(h5::OutputFile& file, const ToyArgs& a, const std::vector<std::vector<Cell>>& cells) {
  for (std::size_t e = 0; e < a.names.size(); ++e) {
    H5::Group g = h5::ensure_group(file.file(), "/toy_bernoulli/estimators/" + a.names[e]);
    std::vector<double> mean, variance, exact_mean, exact_variance;
    for (std::size_t ti = 0; ti < a.ts.size(); ++ti) {
      mean.push_back(cells[ti][e].empirical.mean);
      variance.push_back(cells[ti][e].empirical.variance);
      exact_mean.push_back(cells[ti][e].exact.mean);
      exact_variance.push_back(cells[ti][e].exact.variance);
    }
    h5::write_attribute(g, "samples", std::int64_t{cells[0][e].samples});
    h5::write_attribute(g, "evaluations_per_estimate", cells[0][e].evaluations);
    h5::write_attribute(g, "unbiased", std::int64_t{find_estimator(a.names[e])->info->unbiased ? 1 : 0});
    h5::write_vector(g, "mean", mean);
    h5::write_vector(g, "variance", variance);
    h5::write_vector(g, "exact_mean", exact_mean);
    h5::write_vector(g, "exact_variance", exact_variance);
  }
}

void write_training(h5::OutputFile& file, const ToyArgs& a, const std::vector<std::vector<Trace>>& traces) {
  const std::size_t T = a.ts.size();
  const std::int64_t records = a.steps / a.record_every + 1;
  H5::Group tg = h5::ensure_group(file.file(), "/toy_bernoulli/train");
  h5::write_attribute(tg, "steps", a.steps);
  h5::write_attribute(tg, "lr", a.lr);
  h5::write_attribute(tg, "record_every", a.record_every);
  h5::write_attribute(tg, "probe_draws", a.probe_draws);
  std::vector<std::int64_t> step_index;
  for (std::int64_t i = 0; i < records; ++i) step_index.push_back(i * a.record_every);
  h5::write_vector(tg, "step", step_index);
  for (std::size_t e = 0; e < a.names.size(); ++e) {
    H5::Group g = h5::ensure_group(file.file(), "/toy_bernoulli/train/" + a.names[e]);
    MatrixD loss(T, records), theta(T, records), variance(T, records), exact_variance(T, records);
    for (std::size_t ti = 0; ti < T; ++ti)
      for (std::int64_t i = 0; i < records; ++i) {
        const Trace& tr = traces[ti][e];
        loss(ti, i) = tr.loss[i];
        theta(ti, i) = tr.theta[i];
        variance(ti, i) = tr.variance[i];
        exact_variance(ti, i) = tr.exact_variance[i];
      }
    h5::write_matrix(g, "loss", loss);
    h5::write_matrix(g, "theta", theta);
    h5::write_matrix(g, "variance", variance);
    h5::write_matrix(g, "exact_variance", exact_variance);
  }
}

}  // namespace

int run_toy_bernoulli(const std::vector<std::string>& args, const Context& context) {
  ToyArgs a;
  po::options_description options("toy-bernoulli options");
  add_toy_arguments(options, a);
  po::variables_map vm;
  if (!parse(args, options, nullptr, vm)) {
    print_help("toy-bernoulli",
               "[--t 0.45] [--theta 0.5] [--repeats R] [--estimators a,b] [--train --steps N --lr 0.01] --out FILE.h5",
               options);
    return 0;
  }
  finish_toy_args(vm, a);
  h5::check_output_path(a.out, a.force);

  const std::size_t T = a.ts.size(), E = a.names.size();
  std::vector<std::vector<Cell>> cells(T, std::vector<Cell>(E));
  std::vector<std::vector<Trace>> traces(T, std::vector<Trace>(E));
  for (std::size_t ti = 0; ti < T; ++ti)
    for (std::size_t e = 0; e < E; ++e) {
      ToyBernoulli toy(a.ts[ti]);
      const Rng cell_rng = Rng::stream(
          a.seed, {stable_hash("toy-bernoulli"), std::bit_cast<std::uint64_t>(a.ts[ti]), stable_hash(a.names[e])});
      cells[ti][e] = run_cell(a, a.names[e], a.options[e], toy, cell_rng);
      if (a.train) traces[ti][e] = train_cell(a, a.names[e], a.options[e], toy, cell_rng);
    }
  print_results(a, cells, traces);

  h5::OutputFile file(a.out, a.force, h5::RunMetadata{context.command_line, a.seed, toy_config_text(a)});
  H5::Group group = h5::ensure_group(file.file(), "/toy_bernoulli");
  write_toy_attributes(group, a);
  h5::write_vector(group, "t", a.ts);
  std::vector<double> true_gradient, expected_value;
  for (double t : a.ts) {
    true_gradient.push_back(ToyBernoulli(t).exact_gradient(a.theta0));
    expected_value.push_back(ToyBernoulli(t).expected_value(a.theta0));
  }
  h5::write_vector(group, "true_gradient", true_gradient);
  h5::write_vector(group, "expected_value", expected_value);
  write_estimator_groups(file, a, cells);
  if (a.train) write_training(file, a, traces);
  file.commit();
  std::cout << "wrote " << a.out << "\n";
  return 0;
}

}  // namespace gradest::cli
