#include "run/check_unbiased.hpp"

#include "core/limits.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>

#include "core/errors.hpp"
#include "core/text.hpp"
#include "models/distributions.hpp"
#include "models/latent_family.hpp"
#include "models/toy_bernoulli.hpp"
#include "models/toy_categorical.hpp"
#include "models/toy_x2.hpp"

namespace gradest::probe {


std::optional<CheckModel> parse_check_model(std::string_view name) {
  if (name == "bernoulli-vae") return CheckModel::bernoulli_vae;
  if (name == "gaussian-vae") return CheckModel::gaussian_vae;
  if (name == "x2") return CheckModel::x2;
  if (name == "toy-bernoulli") return CheckModel::toy_bernoulli;
  if (name == "categorical-vae") return CheckModel::categorical_vae;
  if (name == "toy-categorical") return CheckModel::toy_categorical;
  return std::nullopt;
}

std::string_view to_string(CheckModel model) {
  switch (model) {
    case CheckModel::bernoulli_vae: return "bernoulli-vae";
    case CheckModel::gaussian_vae: return "gaussian-vae";
    case CheckModel::x2: return "x2";
    case CheckModel::toy_bernoulli: return "toy-bernoulli";
    case CheckModel::categorical_vae: return "categorical-vae";
    case CheckModel::toy_categorical: return "toy-categorical";
  }
  return "?";
}

LatentKind latent_kind(CheckModel model) {
  switch (model) {
    case CheckModel::x2: return LatentKind::gaussian;
    case CheckModel::toy_bernoulli: return LatentKind::bernoulli;
    case CheckModel::bernoulli_vae: return LatentKind::bernoulli;
    case CheckModel::gaussian_vae: return LatentKind::gaussian;
    case CheckModel::categorical_vae: return LatentKind::categorical;
    case CheckModel::toy_categorical: return LatentKind::categorical;
  }
  throw std::logic_error("unknown check model");
}

namespace {

constexpr double kToyT = 0.45;

// The toys: node-level draws against the closed-form node gradient.
void keep_vectors(const Parameters& layout, DrawResult& draws, const VectorD& exact, CheckResult& result) {
  result.mean = draws.moments.mean();
  result.variance = draws.moments.variance();
  result.exact = exact;
  result.draws = std::move(draws.draws);
  for (const auto& g : layout.groups()) {
    result.group_names.push_back(g.name);
    result.group_offset.push_back(g.offset);
    result.group_size.push_back(g.size);
  }
}

CheckResult check_toy(const CheckSpec& spec, Estimator& estimator, int latents) {
  const bool bernoulli = spec.model == CheckModel::toy_bernoulli;
  const bool categorical = spec.model == CheckModel::toy_categorical;
  constexpr int C = kSmallInstanceCategories;
  StochasticNode node;
  node.family = &latent_family(latent_kind(spec.model), C);
  std::unique_ptr<Objective> objective;
  VectorD exact;
  const double theta[] = {0.5, -0.3, 1.2, -1.5, 0.1, 2.0, -0.7, 0.9};
  const double phi[] = {2.0, -1.0, 0.5, 1.5, -2.0, 0.25, -0.5, 1.0};
  if (bernoulli) {
    auto toy = std::make_unique<ToyBernoulli>(kToyT, 1);
    node.logits.resize(1, latents);
    exact.resize(latents);
    for (int j = 0; j < latents; ++j) {
      node.logits(0, j) = Real(theta[j]);
      exact(j) = toy->exact_gradient(theta[j]);
    }
    objective = std::move(toy);
  } else if (categorical) {  // latent j: logits theta[j] c + 0.2 phi[(j + c) mod 8], c = 0..C-1
    auto toy = std::make_unique<ToyCategorical>(C, kToyT, 1);
    node.logits.resize(1, latents * C);
    exact.resize(latents * C);
    for (int j = 0; j < latents; ++j) {
      VectorD logits(C);
      for (int c = 0; c < C; ++c) logits(c) = theta[j] * double(c) + phi[(j + c) % 8] * 0.2;
      node.logits.block(0, j * C, 1, C) = logits.transpose().cast<Real>();
      exact.segment(j * C, C) = toy->exact_gradient(logits);
    }
    objective = std::move(toy);
  } else {
    objective = std::make_unique<X2Objective>(1);
    node.mean.resize(1, latents);
    node.log_var = Matrix::Zero(1, latents);
    exact.resize(2 * latents);
    for (int j = 0; j < latents; ++j) {
      node.mean(0, j) = Real(phi[j]);
      exact(j) = x2::true_gradient(phi[j]);
      exact(latents + j) = 1.0;  // d/dlog_var E[z^2] = d/dlog_var (mu^2 + exp(log_var))
    }
  }
  Parameters layout;
  layout.add("node", exact.size());
  DrawResult draws;
  NodeGradient grad;
  Vector flat(exact.size());
  const std::uint64_t label = stable_hash(estimator.info().name);
  std::int64_t evaluations = 0;
  for (std::int64_t r = 0; r < spec.draws; ++r) {
    grad.reset_like(node);
    Rng rng = Rng::stream(spec.seed, {stable_hash("check-toy"), label, std::uint64_t(r)});
    const std::int64_t before = objective->evaluations();
    estimator.estimate(node, *objective, rng, grad);
    evaluations += objective->evaluations() - before;
    if (bernoulli || categorical) flat = Eigen::Map<const Vector>(grad.d_logits.data(), grad.d_logits.size());
    else {
      flat.head(latents) = Eigen::Map<const Vector>(grad.d_mean.data(), latents);
      flat.tail(latents) = Eigen::Map<const Vector>(grad.d_log_var.data(), latents);
    }
    draws.moments.add(flat);
    if (spec.keep_draws) {
      if (draws.draws.rows() == 0) draws.draws.resize(spec.draws, flat.size());
      draws.draws.row(r) = flat.cast<float>().transpose();
    }
  }
  draws.evals_per_estimate = double(evaluations) / double(spec.draws);
  CheckResult result;
  result.test = unbiasedness_test(layout, draws, exact, spec.alpha);
  keep_vectors(layout, draws, exact, result);
  result.reference = bernoulli     ? "closed form sigmoid'(theta) ((1 - t)^2 - t^2), t = 0.45"
                     : categorical ? fmt::format("closed form p (f - E f), C = {}, t = 0.45", C)
                                   : "closed form 2 phi, 1";
  return result;
}

}  // namespace

CheckResult check_unbiased(const CheckSpec& spec) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const LatentKind kind = latent_kind(spec.model);
  std::string error;
  auto estimator = make_estimator(spec.estimator, spec.options, kind, &error);
  if (!estimator) throw ConfigError(error);
  if (!(spec.alpha > 0 && spec.alpha < 1)) throw ConfigError(fmt::format("--alpha must be in (0, 1), got {}", spec.alpha));
  if (spec.draws < 2) throw ConfigError(fmt::format("--draws must be an integer >= 2, got {}", spec.draws));
  const bool toy = spec.model == CheckModel::x2 || spec.model == CheckModel::toy_bernoulli ||
                   spec.model == CheckModel::toy_categorical;
  // Small VAEs: enumerable families are exact by enumeration (up to 8 latents), continuous ones by
  // quadrature (up to 2).
  const bool enumerable = latent_family(kind, kSmallInstanceCategories).enumerable();
  const int default_latents = toy ? 2 : (enumerable ? 3 : 1);
  const int latents = spec.latents > 0 ? spec.latents : default_latents;
  const int max_latents = toy ? 8 : (enumerable ? 8 : 2);
  if (latents < 1 || latents > max_latents)
    throw ConfigError(fmt::format("--latents for {} must be in 1..{}, got {}", to_string(spec.model), max_latents, latents));
  if (spec.batch < 1 || spec.batch > 64) throw ConfigError(fmt::format("--batch must be in 1..64, got {}", spec.batch));
  const double rows = double(spec.options.samples) * spec.batch;
  const std::string subject = fmt::format("--samples {} with --draws {}", spec.options.samples, spec.draws);
  if (auto problem = limits::work_shortfall(subject, rows * double(spec.draws), "--samples or --draws"); !problem.empty())
    throw ConfigError(problem);
  // One estimate's samples, their objective values and gradients: a few hundred bytes a row.
  limits::require_memory(subject, "one estimate's samples", 256 * rows, "--samples");
  const bool bound = estimator->info().target == Target::importance_bound;
  if (toy) {
    if (bound)
      throw ConfigError(fmt::format("estimator '{}' targets the K-sample bound, which the toy {} does not have; use "
                                   "bernoulli-vae or gaussian-vae",
                                   spec.estimator, to_string(spec.model)));
    CheckResult result = check_toy(spec, *estimator, latents);
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return result;
  }
  SmallInstance instance = make_small_instance(kind, latents, spec.batch, spec.seed);
  const int K = bound ? spec.options.samples : 0;
  if (!exact_reference_available(*instance.vae, K, &error))
    throw ConfigError(fmt::format("{} with --latents {}{}: {}", to_string(spec.model), latents,
                                 bound ? fmt::format(" and K = --samples {}", K) : std::string(), error));
  const auto exact = exact_per_example(*instance.vae, instance.x, estimator->info(), spec.options, &error);
  if (!exact) throw std::runtime_error(error);
  DrawResult draws = draw_estimates(*instance.vae, instance.x, *estimator, spec.draws, spec.seed, 0,
                                    estimator->info().name, spec.keep_draws);
  CheckResult result;
  result.test = unbiasedness_test(instance.vae->parameters(), draws, *exact, spec.alpha);
  keep_vectors(instance.vae->parameters(), draws, *exact, result);
  result.reference = error;
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace gradest::probe
