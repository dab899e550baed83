// The training loop (run/train.hpp): minibatches, one step's gradient (models/vae_gradient.hpp),
// the optimiser, evaluations into the run's record (store/run_recorder.hpp), divergence, hooks.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "core/errors.hpp"
#include "core/files.hpp"
#include "models/vae_gradient.hpp"
#include "run/train.hpp"
#include "store/h5io.hpp"

namespace gradest::train {

std::string_view to_string(RunStatus status) {
  switch (status) {
    case RunStatus::completed:
      return "completed";
    case RunStatus::diverged:
      return "diverged";
    case RunStatus::interrupted:
      return "interrupted";
  }
  return "?";
}

double kl_weight(const TrainConfig& c, std::int64_t step) {
  if (step < c.warmup_steps) return 0.0;
  const double u = double(step - c.warmup_steps);
  const double remaining = double(std::max<std::int64_t>(1, c.steps - c.warmup_steps));
  switch (c.annealing) {
    case Annealing::none:
      return c.beta;
    case Annealing::linear: {
      const double length = c.anneal_steps > 0 ? double(c.anneal_steps) : remaining;
      return c.beta_start + (c.beta - c.beta_start) * std::min(1.0, u / length);
    }
    case Annealing::cyclical: {
      const double period = remaining / double(c.anneal_cycles);
      const double position = std::fmod(u, period) / period;
      return position < 0.5 ? c.beta_start + (c.beta - c.beta_start) * position / 0.5 : c.beta;
    }
  }
  return c.beta;
}

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Stream ids of the run's purposes.
const std::uint64_t kInitStream = stable_hash("init");
const std::uint64_t kEpochStream = stable_hash("epoch");
const std::uint64_t kBinarizeStream = stable_hash("binarize");
const std::uint64_t kEstimateStream = stable_hash("estimate");
const std::uint64_t kEvalStream = stable_hash("eval");
const std::uint64_t kEvalDataStream = stable_hash("eval-data");

Matrix eval_matrix(const data::Dataset& set, Index count, const TrainConfig& config, std::uint64_t id) {
  Matrix x;
  set.rows(0, std::min(count, set.size()), x);
  Rng rng = Rng::stream(config.seed, {kEvalDataStream, id});
  data::binarize(x, config.binarize, rng);
  return x;
}

h5::RunHeader run_header(const TrainConfig& config, const data::DataSplits& data) {
  h5::RunHeader header;
  for (const auto& key : config_keys()) {
    if (key.applies && !key.applies(config)) continue;
    using T = h5::RecordedKey::Type;
    const T type = key.type == ConfigKey::Type::integer ? T::integer
                   : key.type == ConfigKey::Type::real  ? T::real
                                                        : T::string;
    header.keys.push_back({std::string(key.name), type, key.get(config)});
  }
  header.config_text = config_text(config);
  header.run_id = run_id(config);
  header.seed = config.seed;
  header.data = &data;
  return header;
}

std::unique_ptr<Vae> initial_model(const TrainConfig& config, const data::DataSplits& data) {
  Rng init_rng = Rng::stream(config.seed, {kInitStream});
  auto vae = Vae::make(make_vae_config(config, data), init_rng);
  if (!config.init_from.empty()) {
    H5::H5File file = h5::open_run_file(config.init_from, "--init-from");
    H5::Group source = h5::open_run(file, config.init_from, config.init_run);
    h5::load_parameters(source, *vae, fmt::format("--init-from '{}'", config.init_from));
  }
  return vae;
}

GroupOptimizer make_optimizer(const TrainConfig& config, Vae& vae) {
  GroupOptimizer optimizer;
  for (const auto& g : vae.parameters().groups()) {
    OptimizerOptions options;
    const bool prior = g.name == "prior";
    options.kind = prior ? config.prior_optimizer : config.optimizer;
    const double lr0 = prior ? config.prior_lr.value_or(config.lr) : config.lr;
    options.lr = LearningRate{lr0, lr0 * config.lr_final / config.lr, config.lr_decay, config.steps};
    options.beta1 = config.adam_beta1;
    options.beta2 = config.adam_beta2;
    options.epsilon = config.adam_epsilon;
    optimizer.add(g.name, g.offset, g.size, options);
  }
  return optimizer;
}

// Shuffled epochs: the permutation of epoch e from stream (seed, "epoch", e); step t's minibatch is
// its slice t mod (N / B), binarized from stream (seed, "binarize", t).
class Minibatches {
 public:
  Minibatches(const TrainConfig& config, const data::Dataset& train)
      : config_(config),
        train_(train),
        per_epoch_(std::max<std::int64_t>(1, train.size() / config.batch)),
        permutation_(std::size_t(train.size())) {}

  void next(std::int64_t step, Matrix& x) {
    const std::int64_t epoch = step / per_epoch_;
    if (epoch != epoch_) shuffle(epoch);
    const std::size_t offset = std::size_t((step % per_epoch_) * config_.batch);
    train_.gather(std::span<const Index>(permutation_.data() + offset, std::size_t(config_.batch)), x);
    Rng rng = Rng::stream(config_.seed, {kBinarizeStream, std::uint64_t(step)});
    data::binarize(x, config_.binarize, rng);
  }

 private:
  void shuffle(std::int64_t epoch) {
    std::iota(permutation_.begin(), permutation_.end(), Index(0));
    Rng rng = Rng::stream(config_.seed, {kEpochStream, std::uint64_t(epoch)});
    for (Index i = train_.size() - 1; i > 0; --i) {
      const Index j = Index(rng.uniform() * double(i + 1));
      std::swap(permutation_[std::size_t(i)], permutation_[std::size_t(std::min(j, i))]);
    }
    epoch_ = epoch;
  }

  const TrainConfig& config_;
  const data::Dataset& train_;
  std::int64_t per_epoch_;
  std::vector<Index> permutation_;
  std::int64_t epoch_ = -1;
};

// One run: the model, its estimator and optimiser, the evaluation data and the record.
class TrainingRun {
 public:
  TrainingRun(const TrainConfig& config, const data::DataSplits& data, H5::Group& run_group, const TrainHooks& hooks)
      : config_(config),
        data_(data),
        run_group_(run_group),
        hooks_(hooks),
        start_(Clock::now()),
        recorder_(run_group, run_header(config, data)),
        vae_(initial_model(config, data)),
        optimizer_(make_optimizer(config, *vae_)),
        minibatches_(config, data.train) {
    optimizer_covers_all_ = optimizer_.covers(vae_->parameters().values().size());
    std::string error;
    estimator_ = make_estimator(config.estimator, config.estimator_options, config.model, &error);
    if (!estimator_) throw ConfigError(error);
    bound_ = estimator_->info().target == Target::importance_bound;
    eval_train_ = eval_matrix(data.train, config.eval_train_subset, config, 0);
    eval_test_ = eval_matrix(data.test, config.eval_subset > 0 ? config.eval_subset : data.test.size(), config, 1);
    recorder_.begin_trace();
  }

  TrainResult run() {
    evaluate_at(0);
    if (hooks_.hook_every > 0) call_hook(0);
    std::int64_t step = 0;
    while (step < config_.steps && result_.status == RunStatus::completed) {
      if (hooks_.stop && hooks_.stop->load()) {
        result_.status = RunStatus::interrupted;
        break;
      }
      const auto step_start = Clock::now();
      if (!train_step(step)) break;
      ++step;
      if (!parameters_finite_) {
        diverge(step, "non-finite parameter after the update");
        break;
      }
      train_seconds_since_eval_ += seconds_since(step_start);
      ++steps_since_eval_;
      if (hooks_.progress)
        hooks_.progress(step, double(steps_since_eval_) / std::max(train_seconds_since_eval_, 1e-9), latest_);
      if (step % config_.eval_every == 0 || step == config_.steps) evaluate_at(step);
      if (result_.status == RunStatus::completed && hooks_.hook_every > 0 &&
          (step % hooks_.hook_every == 0 || step == config_.steps))
        call_hook(step);
    }
    result_.steps_completed = step;
    if (result_.status == RunStatus::completed && config_.final_eval_full) final_evaluation();
    result_.seconds = seconds_since(start_);
    h5::RunEnding ending{std::string(to_string(result_.status)),
                         result_.steps_completed,
                         std::nullopt,
                         result_.divergence_reason,
                         result_.last,
                         result_.seconds};
    if (result_.status == RunStatus::diverged) ending.diverged_step = result_.diverged_step;
    recorder_.finish(*vae_, ending);
    return result_;
  }

 private:
  // The gradient of step `step` (models/vae_gradient.hpp) and the optimiser's update; false when
  // the run diverged.
  bool train_step(std::int64_t step) {
    minibatches_.next(step, x_);
    Rng rng = Rng::stream(config_.seed, {kEstimateStream, std::uint64_t(step)});
    auto estimate = [&](const StochasticNode& node, NodeGradient& node_gradient) {
      Objective& objective = vae_->objective(x_, bound_ ? Objective::Terms::joint : Objective::Terms::likelihood);
      estimator_->estimate(node, objective, rng, node_gradient);
    };
    std::optional<KlWeight> kl;
    if (!bound_) kl = KlWeight{kl_weight(config_, step), config_.free_bits};
    if (!vae_gradient(*vae_, 0, x_, estimate, kl, scratch_).kl_finite) {
      diverge(step, "non-finite KL");
      return false;
    }
    // The optimiser applies the 1/B (per-example figures) inside its update; scaling a finite
    // gradient by 1/B keeps it finite, so the check is on the batch sum.
    if (!all_finite(vae_->gradient())) {
      diverge(step, "non-finite gradient");
      return false;
    }
    // The optimiser checks the parameters it updates in its own pass; any it does not update are
    // checked here (none, for the VAEs' optimisers, which cover every parameter).
    parameters_finite_ = optimizer_.step(vae_->parameters().values(), vae_->gradient(), Real(1) / Real(config_.batch));
    if (!optimizer_covers_all_) parameters_finite_ = parameters_finite_ && all_finite(vae_->parameters().values());
    estimator_->learn(rng);
    return true;
  }

  void evaluate_at(std::int64_t step) {
    EvalRecord r;
    r.step = step;
    Rng rng = Rng::stream(config_.seed, {kEvalStream, std::uint64_t(step)});
    const Evaluation train_eval = evaluate(*vae_, eval_train_, 0, false, rng);
    const Evaluation test_eval = evaluate(*vae_, eval_test_, config_.iwae_samples, true, rng);
    r.train_elbo = train_eval.elbo;
    r.test_elbo = test_eval.elbo;
    r.test_iwae = test_eval.iwae;
    r.recon = test_eval.recon;
    r.kl = test_eval.kl;
    r.active_units = test_eval.active_units;
    r.wall_time = seconds_since(start_);
    r.steps_per_second = steps_since_eval_ > 0 ? double(steps_since_eval_) / train_seconds_since_eval_
                                               : std::numeric_limits<double>::quiet_NaN();
    steps_since_eval_ = 0;
    train_seconds_since_eval_ = 0;
    recorder_.append(r, estimator_->diagnostics());
    latest_ = r;
    if (r.finite())
      result_.last = r;
    else
      diverge(step, "non-finite evaluated bound (ELBO, KL or IWAE)");
    if (hooks_.on_eval) hooks_.on_eval(r);
  }

  // The whole test set after training; when the trace already evaluated all of it at the last
  // step, that row is the final one.
  void final_evaluation() {
    const bool subset = eval_test_.rows() < data_.test.size();
    Evaluation final_eval;
    if (subset) {
      const Matrix full_test = eval_matrix(data_.test, data_.test.size(), config_, 1);
      Rng rng = Rng::stream(config_.seed, {kEvalStream, stable_hash("final")});
      final_eval = evaluate(*vae_, full_test, config_.iwae_samples, true, rng);
    } else {
      final_eval = {latest_.test_elbo, latest_.recon, latest_.kl, latest_.test_iwae, int(latest_.active_units)};
    }
    const std::int64_t examples = data_.test.size();
    recorder_.write_final(
        {final_eval.elbo, final_eval.iwae, final_eval.recon, final_eval.kl, final_eval.active_units, examples});
    result_.has_final = true;
    result_.final_eval = {final_eval.elbo, final_eval.iwae,         final_eval.recon,
                          final_eval.kl,   final_eval.active_units, examples};
  }

  void call_hook(std::int64_t step) {
    if (!hooks_.at_step) return;
    StepContext context{step, config_, *vae_, *estimator_, data_, run_group_};
    hooks_.at_step(context);
  }

  void diverge(std::int64_t step, std::string reason) {
    result_.status = RunStatus::diverged;
    result_.diverged_step = step;
    result_.divergence_reason = std::move(reason);
  }

  const TrainConfig& config_;
  const data::DataSplits& data_;
  H5::Group& run_group_;
  const TrainHooks& hooks_;
  Clock::time_point start_;
  h5::RunRecorder recorder_;
  std::unique_ptr<Vae> vae_;
  GroupOptimizer optimizer_;
  bool optimizer_covers_all_ = false;  // optimizer_ updates every parameter
  bool parameters_finite_ = true;      // after the last update
  Minibatches minibatches_;
  std::unique_ptr<Estimator> estimator_;
  bool bound_ = false;
  Matrix eval_train_, eval_test_, x_;
  VaeGradientScratch scratch_;
  TrainResult result_;
  EvalRecord latest_;
  double train_seconds_since_eval_ = 0;
  std::int64_t steps_since_eval_ = 0;
};

}  // namespace

TrainResult run_training(const TrainConfig& config, H5::Group& run_group, const TrainHooks& hooks) {
  const data::DataSplits data = load_data(config);
  return run_training(config, data, run_group, hooks);
}

TrainResult run_training(const TrainConfig& config, const data::DataSplits& data, H5::Group& run_group,
                         const TrainHooks& hooks) {
  return TrainingRun(config, data, run_group, hooks).run();
}

}  // namespace gradest::train
