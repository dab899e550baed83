#include "run/probe.hpp"
#include "models/latent_family.hpp"

#include <fmt/format.h>

#include <boost/math/distributions/normal.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <set>
#include <stdexcept>

#include "core/errors.hpp"
#include "core/text.hpp"
#include "run/train.hpp"
#include "models/enumerate.hpp"
#include "models/rng.hpp"
#include "models/vae_gradient.hpp"

namespace gradest::probe {


std::vector<BasketEntry> parse_basket(std::string_view text, LatentKind kind, const EstimatorOptions& defaults) {
  std::vector<BasketEntry> basket;
  std::set<std::string> labels;
  for (const std::string& token : text::split(text, ',')) {
    const std::string item = text::trim(token);
    if (item.empty()) continue;
    BasketEntry entry;
    entry.options = defaults;
    const auto colon = item.find(':');
    entry.name = item.substr(0, colon);
    const EstimatorEntry* registered = find_estimator(entry.name);
    if (!registered)
      throw ConfigError(fmt::format("unknown probe estimator '{}'; allowed: {}", entry.name, estimator_names(kind)));
    if (colon == std::string::npos) {
      entry.options.samples = std::max(defaults.samples, registered->info->min_samples);
      entry.label = entry.name;
    } else {
      const std::string count = item.substr(colon + 1);
      char* end = nullptr;
      const long samples = std::strtol(count.c_str(), &end, 10);
      if (count.empty() || *end != '\0' || samples < 1 || samples > 100000)
        throw ConfigError(fmt::format("probe estimator '{}': samples after ':' must be an integer >= 1, got '{}'",
                                     entry.name, count));
      entry.options.samples = int(samples);
      entry.label = fmt::format("{}-S{}", entry.name, samples);
    }
    std::string error;
    if (!make_estimator(entry.name, entry.options, kind, &error)) throw ConfigError("probe estimator: " + error);
    if (!labels.insert(entry.label).second)
      throw ConfigError(fmt::format("probe estimator '{}' is listed twice", entry.label));
    basket.push_back(std::move(entry));
  }
  if (basket.empty())
    throw ConfigError(fmt::format("no probe estimators given; allowed: {}", estimator_names(kind)));
  return basket;
}

bool ProbeOptions::valid(std::string* error) const {
  if (draws < 2) {
    if (error) *error = fmt::format("probe draws must be an integer >= 2, got {}", draws);
    return false;
  }
  return true;
}

// ---- moments -----------------------------------------------------------------------------------------

void GradientMoments::start(Index size) {
  if (count() == 0) {
    mean_ = VectorD::Zero(size);
    m2_ = VectorD::Zero(size);
    const Index per_draw = std::max<Index>(size, 1) * Index(sizeof(Real));
    block_ = int(std::clamp<Index>(kBlockBytes / per_draw, 1, kMaxBlock));
    pending_.assign(std::size_t(block_), Vector());
    pending_scale_.assign(std::size_t(block_), Real(1));
  }
  if (size != mean_.size())
    throw std::invalid_argument(fmt::format("probe moments: a draw of {} values after draws of {}", size, mean_.size()));
}

void GradientMoments::pushed() {
  if (++pending_count_ == block_) flush();
}

void GradientMoments::add(const Vector& g, Real scale) {
  start(g.size());
  pending_[std::size_t(pending_count_)] = g;
  pending_scale_[std::size_t(pending_count_)] = scale;
  pushed();
}

void GradientMoments::take(Vector& g, Real scale) {
  start(g.size());
  Vector& slot = pending_[std::size_t(pending_count_)];
  if (slot.size() != g.size()) slot.resize(g.size());
  slot.swap(g);  // O(1): the two vectors exchange their buffers
  pending_scale_[std::size_t(pending_count_)] = scale;
  pushed();
}

namespace {
// s1 += d, s2 += d^2 with d = Real(scale * draw) - x0, elementwise over len coordinates. Kept out of
// line on purpose: inlined into flush's loop over draws, GCC 12 interchanged the two loops and
// vectorised across draws with gather instructions (a quarter of flush's time); apart, the loop is
// contiguous loads and packed arithmetic, 1.2x faster over a block of 8 draws of 314k coordinates.
[[gnu::noinline]] void add_shifted_sums(const Real* __restrict draw, Real scale, const double* __restrict x0,
                                        double* __restrict s1, double* __restrict s2, Index len) {
  for (Index c = 0; c < len; ++c) {
    const double d = double(Real(scale * draw[c])) - x0[c];
    s1[c] += d;
    s2[c] += d * d;
  }
}
}  // namespace

void GradientMoments::flush() const {
  if (pending_count_ == 0) return;
  const int k = pending_count_;
  const double n_a = double(n_), n_b = double(k), n = n_a + n_b;
  const double inv_k = 1.0 / n_b, weight_b = n_b / n, cross = n_a * n_b / n;
  const Index P = mean_.size();
  double* mean = mean_.data();
  double* m2 = m2_.data();
  // Per coordinate: the block's mean and sum of squared deviations in one pass over its draws,
  // from sums of the deviations from the block's first draw x0 (the shifted-data algorithm: with
  // s1 = sum (x - x0) and s2 = sum (x - x0)^2, mean_b = x0 + s1/k and M2_b = s2 - s1^2/k; since
  // s1^2/k <= k M2_b, the cancellation costs at most a factor k + 1 of double's rounding; clamped
  // at 0, which the true M2_b never goes below). Then m = m + d k/n and
  // M2 = M2 + M2_b + d^2 n_a k / n with d = mean_b - m. In chunks of coordinates, draw by draw
  // within a chunk, so every inner loop runs along contiguous memory (the compiler vectorises it)
  // and the chunk's partial sums stay in L1. One pass over the draws instead of two: 1.4x faster in
  // a microbenchmark of 8 draws of 314k coordinates.
  constexpr Index kChunk = 1024;
  double x0[kChunk], s1[kChunk], s2[kChunk];
  for (Index start = 0; start < P; start += kChunk) {
    const Index len = std::min(kChunk, P - start);
    // Each draw rounded to Real after its scale, as a stored gradient would be.
    {
      const Real* column = pending_[0].data() + start;
      const Real scale = pending_scale_[0];
      for (Index c = 0; c < len; ++c) {
        x0[c] = double(Real(scale * column[c]));
        s1[c] = 0;
        s2[c] = 0;
      }
    }
    for (int j = 1; j < k; ++j)
      add_shifted_sums(pending_[std::size_t(j)].data() + start, pending_scale_[std::size_t(j)], x0, s1, s2, len);
    double* mean_chunk = mean + start;
    double* m2_chunk = m2 + start;
    for (Index c = 0; c < len; ++c) {
      const double block_mean = x0[c] + s1[c] * inv_k;
      const double block_m2 = std::max(0.0, s2[c] - s1[c] * s1[c] * inv_k);
      const double delta = block_mean - mean_chunk[c];
      mean_chunk[c] += delta * weight_b;
      m2_chunk[c] += block_m2 + delta * delta * cross;
    }
  }
  n_ += k;
  pending_count_ = 0;
}

const VectorD& GradientMoments::mean() const {
  flush();
  return mean_;
}

VectorD GradientMoments::variance() const {
  flush();
  if (n_ < 2) return VectorD::Constant(mean_.size(), kNaN);
  return m2_ / double(n_ - 1);
}

DrawResult draw_estimates(Vae& vae, const Matrix& x, Estimator& estimator, std::int64_t draws, std::uint64_t seed,
                          std::int64_t step, std::string_view label, bool keep_draws) {
  using Clock = std::chrono::steady_clock;
  const Vector saved = vae.gradient();
  const bool bound = estimator.info().target == Target::importance_bound;
  const Objective::Terms terms = bound ? Objective::Terms::joint : Objective::Terms::likelihood;
  const Index B = x.rows();
  const Real inv_batch = Real(1) / Real(B);
  VaeGradientScratch scratch;
  const std::optional<KlWeight> kl = bound ? std::nullopt : std::optional<KlWeight>(KlWeight{});
  DrawResult out;
  std::int64_t evaluations = 0;
  double seconds = 0;
  // The parameters are frozen: q(z|x) is the same for every draw, so the encoder runs once (its time
  // is shared among the draws' times).
  const auto encode_start = Clock::now();
  vae.encode(0, x, scratch.node);
  scratch.node_frozen = true;  // and so is the KL: computed by the first draw, reused by the others
  scratch.kl_computed_for.reset();
  seconds += std::chrono::duration<double>(Clock::now() - encode_start).count();
  for (std::int64_t r = 0; r < draws; ++r) {
    const auto start = Clock::now();
    Rng rng = Rng::stream(seed, {stable_hash("probe"), std::uint64_t(step), stable_hash(label), std::uint64_t(r)});
    auto estimate = [&](const StochasticNode& node, NodeGradient& grad) {
      Objective& objective = vae.objective(x, terms);
      const std::int64_t before = objective.evaluations();
      estimator.estimate(node, objective, rng, grad);
      evaluations += objective.evaluations() - before;
    };
    vae_gradient_encoded(vae, 0, estimate, kl, scratch);
    seconds += std::chrono::duration<double>(Clock::now() - start).count();
    if (keep_draws) {
      if (out.draws.rows() == 0) out.draws.resize(draws, vae.gradient().size());
      out.draws.row(r) = (vae.gradient() * inv_batch).cast<float>().transpose();
    }
    // The draw's buffer moves into the moments' block (no copy); vae_gradient overwrites every
    // coordinate of whatever buffer the Vae gets back, and `saved` is restored after the loop.
    out.moments.take(vae.gradient(), inv_batch);
  }
  vae.gradient() = saved;
  out.evals_per_estimate = double(evaluations) / double(draws) / double(B);
  out.seconds_per_estimate = seconds / double(draws);
  return out;
}

// ---- summaries ---------------------------------------------------------------------------------------

namespace {

double standard_error(double variance, std::int64_t draws, double exact) {
  return std::max(std::sqrt(std::max(variance, 0.0) / double(draws)), kNumericalFloor * std::max(1.0, std::abs(exact)));
}

GroupSummary summarise_range(std::string name, Index offset, Index size, const VectorD& mean, const VectorD& variance,
                             std::int64_t draws, const VectorD* exact) {
  GroupSummary s;
  s.name = std::move(name);
  s.size = size;
  if (size == 0) return s;
  double trace = 0, snr = 0, bias2 = 0, max_z = 0;
  Index snr_count = 0;
  for (Index i = offset; i < offset + size; ++i) {
    trace += variance(i);
    if (variance(i) > 0) {
      snr += std::abs(mean(i)) / std::sqrt(variance(i));
      ++snr_count;
    }
    if (exact) {
      const double diff = mean(i) - (*exact)(i);
      bias2 += diff * diff;
      const double z = std::abs(diff) / standard_error(variance(i), draws, (*exact)(i));
      if (!(z <= max_z)) {
        max_z = z;
        s.max_z_index = i;
      }
    }
  }
  s.trace = trace;
  s.mean_var = trace / double(size);
  s.snr = snr_count > 0 ? snr / double(snr_count) : kNaN;
  if (exact) {
    s.bias_norm = std::sqrt(bias2);
    s.max_abs_z = max_z;
    s.mse = bias2 + trace;
  }
  return s;
}

}  // namespace

const GroupSummary* ProbeSummary::group(std::string_view name) const {
  for (const auto& g : groups)
    if (g.name == name) return &g;
  return nullptr;
}

ProbeSummary summarise(const Parameters& parameters, const DrawResult& draws, const VectorD* exact) {
  ProbeSummary s;
  const VectorD& mean = draws.moments.mean();
  const VectorD variance = draws.moments.variance();
  const std::int64_t R = draws.moments.count();
  s.draws = R;
  for (std::string_view name : kGroups) {
    const ParameterGroup* g = parameters.find(name);
    s.groups.push_back(g ? summarise_range(std::string(name), g->offset, g->size, mean, variance, R, exact)
                         : summarise_range(std::string(name), 0, 0, mean, variance, R, exact));
  }
  if (exact) {
    const GroupSummary all = summarise_range("all", 0, mean.size(), mean, variance, R, exact);
    s.bias_norm = all.bias_norm;
    s.max_abs_z = all.max_abs_z;
  }
  s.evals_per_estimate = draws.evals_per_estimate;
  s.seconds_per_estimate = draws.seconds_per_estimate;
  return s;
}

std::optional<VectorD> exact_per_example(Vae& vae, const Matrix& x, const EstimatorInfo& info,
                                         const EstimatorOptions& options, std::string* why) {
  ExactReferenceOptions reference;
  reference.importance_samples = info.target == Target::importance_bound ? options.samples : 0;
  if (!exact_reference_available(vae, reference.importance_samples, why)) return std::nullopt;
  try {
    ExactGradient exact = exact_gradient(vae, x, reference);
    if (why)
      *why = fmt::format("{} of the {} by {}", "exact gradient",
                         reference.importance_samples == 0 ? std::string("ELBO")
                                                           : fmt::format("{}-sample bound", reference.importance_samples),
                         vae.latent_family().enumerable() ? "enumeration" : "Gauss-Hermite quadrature");
    return VectorD(exact.gradient / double(x.rows()));
  } catch (const std::runtime_error& e) {
    if (why) *why = e.what();
    return std::nullopt;
  }
}

std::vector<ProbeSummary> run_probe(Vae& vae, const Matrix& x, const std::vector<BasketEntry>& basket,
                                    const ProbeOptions& options, std::int64_t step, Estimator* trained) {
  std::string error;
  if (!options.valid(&error)) throw ConfigError(error);
  std::vector<ProbeSummary> out;
  std::map<int, std::pair<std::optional<VectorD>, std::string>> exact_by_k;  // K (0 = ELBO) -> exact, note
  for (const BasketEntry& entry : basket)
    if (entry.name == "exact" && vae.latent_family().enumerable() &&
        configuration_count(vae.latent_family(), vae.latents()) == 0)
      throw ConfigError(fmt::format("probe estimator 'exact' enumerates 2^latents configurations: needs latents <= {}, the model has {}",
                                   kMaxEnumeratedBits, vae.latents()));
  for (const BasketEntry& entry : basket) {
    std::unique_ptr<Estimator> owned;
    Estimator* estimator = nullptr;
    if (trained && trained->info().name == entry.name && trained->options().samples == entry.options.samples)
      estimator = trained;
    else {
      owned = make_estimator(entry.name, entry.options, vae.latent_kind(), &error);
      if (!owned) throw ConfigError("probe estimator: " + error);
      estimator = owned.get();
    }
    const EstimatorInfo& info = estimator->info();
    const int K = info.target == Target::importance_bound ? entry.options.samples : 0;
    auto it = exact_by_k.find(K);
    if (it == exact_by_k.end() && options.exact) {
      std::string note;
      auto exact = exact_per_example(vae, x, info, entry.options, &note);
      it = exact_by_k.emplace(K, std::make_pair(std::move(exact), note)).first;
    }
    DrawResult draws = draw_estimates(vae, x, *estimator, options.draws, options.seed, step, entry.label,
                                      options.vectors && options.raw_draws);
    const VectorD* exact = it != exact_by_k.end() && it->second.first ? &*it->second.first : nullptr;
    ProbeSummary s = summarise(vae.parameters(), draws, exact);
    s.label = entry.label;
    s.estimator = entry.name;
    s.samples = entry.options.samples;
    s.target = info.target;
    s.step = step;
    s.batch = x.rows();
    s.exact_reference = it != exact_by_k.end() ? it->second.second : "not computed (exact reference disabled)";
    if (options.vectors) {
      s.vectors.mean = draws.moments.mean();
      s.vectors.variance = draws.moments.variance();
      if (exact) s.vectors.exact = *exact;
      s.vectors.draws = std::move(draws.draws);
    }
    out.push_back(std::move(s));
  }
  return out;
}

// ---- HDF5 --------------------------------------------------------------------------------------------

void VarianceWriter::append(const ProbeSummary& s) {
  auto& columns = series_[s.label];
  if (columns.empty()) {
    H5::Group variance = run_group_.nameExists("variance") ? run_group_.openGroup("variance")
                                                           : h5::create_group(run_group_, "variance");
    if (variance.nameExists(s.label))
      throw std::runtime_error(fmt::format("variance/{} already exists in the output file", s.label));
    H5::Group group = h5::create_group(variance, s.label);
    h5::write_attribute(group, "estimator", s.estimator);
    h5::write_attribute(group, "samples", std::int64_t(s.samples));
    h5::write_attribute(group, "target", std::string(to_string(s.target)));
    h5::write_attribute(group, "draws", std::int64_t(s.draws));
    h5::write_attribute(group, "batch", std::int64_t(s.batch));
    h5::write_attribute(group, "normalisation",
                        std::string("per-example: gradient of the minibatch sum divided by the batch size"));
    h5::write_attribute(group, "exact_reference", s.exact_reference);
    std::vector<std::string> names = {"step"};
    for (std::string_view g : kGroups)
      for (std::string_view stat : {"trace", "mean_var", "snr"}) names.push_back(fmt::format("{}_{}", stat, g));
    for (std::string_view name : {"bias_norm", "max_abs_z"}) names.emplace_back(name);
    for (std::string_view g : kGroups)
      for (std::string_view stat : {"bias_norm", "max_abs_z", "mse"}) names.push_back(fmt::format("{}_{}", stat, g));
    for (std::string_view name :
         {"evals_per_estimate", "seconds_per_estimate", "trace_x_evals_encoder", "trace_x_evals_decoder"})
      names.emplace_back(name);
    for (const auto& name : names) columns.emplace(name, h5::Series(group, name));
  }
  auto put = [&](const std::string& name, double value) { columns.at(name).append(value); };
  put("step", double(s.step));
  for (const auto& g : s.groups) {
    put("trace_" + g.name, g.trace);
    put("mean_var_" + g.name, g.mean_var);
    put("snr_" + g.name, g.snr);
    put("bias_norm_" + g.name, g.bias_norm);
    put("max_abs_z_" + g.name, g.max_abs_z);
    put("mse_" + g.name, g.mse);
  }
  put("bias_norm", s.bias_norm);
  put("max_abs_z", s.max_abs_z);
  put("evals_per_estimate", s.evals_per_estimate);
  put("seconds_per_estimate", s.seconds_per_estimate);
  put("trace_x_evals_encoder", s.group("encoder")->trace * s.evals_per_estimate);
  put("trace_x_evals_decoder", s.group("decoder")->trace * s.evals_per_estimate);
  H5Fflush(run_group_.getId(), H5F_SCOPE_GLOBAL);
}

std::string summary_header() {
  return fmt::format("{:>8} {:<20} {:>11} {:>11} {:>8} {:>8} {:>10} {:>8} {:>6} {:>9}", "step", "estimator",
                     "tr(enc)", "tr(dec)", "SNR enc", "SNR dec", "bias", "max|z|", "evals", "ms/est");
}

std::string format_summary(const ProbeSummary& s) {
  const GroupSummary& enc = *s.group("encoder");
  const GroupSummary& dec = *s.group("decoder");
  return fmt::format("{:>8} {:<20} {:>11.4g} {:>11.4g} {:>8.4f} {:>8.4f} {:>10.3g} {:>8.2f} {:>6.3g} {:>9.3f}", s.step,
                     s.label, enc.trace, dec.trace, enc.snr, dec.snr, s.bias_norm, s.max_abs_z, s.evals_per_estimate,
                     1e3 * s.seconds_per_estimate);
}

Matrix probe_batch(const train::TrainConfig& config, const data::DataSplits& data) {
  if (data.train.size() < config.batch)
    throw ConfigError(fmt::format("the probe's minibatch needs {} training examples, the data have {}", config.batch,
                                 data.train.size()));
  Matrix x;
  data.train.rows(0, config.batch, x);
  Rng rng = Rng::stream(config.seed, {stable_hash("probe-batch")});
  data::binarize(x, config.binarize, rng);
  return x;
}

// ---- the basket during training -----------------------------------------------------------------------

TrainingProbe make_training_probe(std::int64_t every, std::int64_t draws, const std::optional<std::string>& estimators,
                                  const train::TrainConfig& config) {
  TrainingProbe probe;
  probe.every = every;
  if (probe.every < 1) throw ConfigError(fmt::format("--probe-every must be an integer >= 1, got {}", probe.every));
  probe.options.draws = draws;
  probe.options.seed = config.seed;
  if (probe.options.draws < 2)
    throw ConfigError(fmt::format("--probe-draws must be an integer >= 2, got {}", probe.options.draws));
  probe.basket = parse_basket(estimators ? *estimators : config.estimator, config.model, config.estimator_options);
  for (const auto& entry : probe.basket)
    if (entry.name == "exact" && config.latents.value_or(0) > kMaxEnumeratedBits)
      throw ConfigError(fmt::format("probe estimator 'exact' enumerates 2^latents configurations: needs --latents <= {}, got {}",
                                   kMaxEnumeratedBits, config.latents.value_or(0)));
  return probe;
}

void install_probe(const TrainingProbe& probe, train::TrainHooks& hooks, bool print) {
  struct State {
    TrainingProbe probe;
    Matrix x;
    std::unique_ptr<VarianceWriter> writer;
    bool printed_header = false;
  };
  auto state = std::make_shared<State>();
  state->probe = probe;
  auto previous = hooks.at_step;
  hooks.hook_every = probe.every;
  hooks.at_step = [state, previous, print](const train::StepContext& context) {
    if (previous) previous(context);
    if (!state->writer) {
      state->x = probe_batch(context.config, context.data);
      state->writer = std::make_unique<VarianceWriter>(context.run_group);
    }
    const auto summaries =
        run_probe(context.vae, state->x, state->probe.basket, state->probe.options, context.step, &context.estimator);
    for (const auto& s : summaries) {
      state->writer->append(s);
      if (print) {
        if (!state->printed_header) fmt::print("\rprobe {}\n", summary_header());
        state->printed_header = true;
        fmt::print("\rprobe {}\n", format_summary(s));
      }
    }
    if (print) std::fflush(stdout);
  };
}

// ---- the unbiasedness test ---------------------------------------------------------------------------

double bonferroni_threshold(double alpha, Index coordinates) {
  boost::math::normal standard;
  return boost::math::quantile(boost::math::complement(standard, alpha / (2.0 * double(std::max<Index>(coordinates, 1)))));
}

UnbiasednessResult unbiasedness_test(const Parameters& parameters, const DrawResult& draws, const VectorD& exact,
                                     double alpha) {
  UnbiasednessResult result;
  const ProbeSummary s = summarise(parameters, draws, &exact);
  result.alpha = alpha;
  result.coordinates = exact.size();
  result.threshold = bonferroni_threshold(alpha, result.coordinates);
  result.max_abs_z = s.max_abs_z;
  result.groups = s.groups;
  result.passed = s.max_abs_z <= result.threshold;
  return result;
}

}  // namespace gradest::probe
