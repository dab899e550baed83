#pragma once
// Training a VAE with a chosen gradient estimator, and recording it in HDF5.
//
// One training step (batch of B examples x, step t = 0, 1, ...):
//   x     <- next minibatch (shuffled epochs, permutation of epoch e from stream (seed, "epoch", e)),
//            binarized per `binarize` from stream (seed, "binarize", t)
//   node  <- q(z|x);  grad <- 0
//   ELBO estimators (Target::expectation), f = log p(x|z):
//       estimate(node, f) + analytic KL: objective sum_b E_q[log p(x_b|z)] - beta_t sum_{b,j} KL_bj
//       with free bits lambda: dimension j contributes max(lambda, mean_b KL_bj) per example, so its
//       KL gradient is dropped while the batch-mean KL_j is below lambda (Kingma et al. 2016);
//       beta_t: 0 during warm-up (reconstruction only), then constant, linear beta0 -> beta1 over
//       anneal_steps, or cyclical (anneal_cycles cycles over the remaining steps, each a linear
//       ramp beta0 -> beta1 over its first half, then beta1; Fu et al. 2019).
//   importance-bound estimators (Target::importance_bound), f = log p(x, z): the K-sample bound,
//       no analytic KL (beta, warm-up and free bits are refused for them).
//   encoder gradient by back-propagation of the node gradient; every gradient / B (per example);
//   one ascent step per parameter group: encoder and decoder by Adam or SGD at lr (optionally
//   decaying lr -> lr_final over the run), the prior logits by their own optimiser and rate
//   (DisARM: SGD 1e-2); then estimator.learn().
//   Noise of step t: stream (seed, "estimate", t). Everything is a function of (config, seed).
//
// Evaluation at step 0, every eval_every steps and at the end (all per example, nats):
//   train_elbo: 1-sample ELBO on the first eval_train_subset training examples;
//   test_elbo:  1-sample ELBO  E_q[log p(x|z)] - KL  on the first eval_subset test examples (0: all),
//               with recon (the first term) and kl (the second) apart;
//   test_iwae:  the K-sample bound log (1/K) sum_k p(x, z_k)/q(z_k|x), K = iwae_samples;
//   active_units: #{j : Var_x(E_q[z_j|x]) > 0.01} over the same test examples (Burda et al. 2016);
//   wall_time (s since start), steps_per_second (training steps only, since the last evaluation).
//   The evaluation data are binarized once, from fixed streams, so every evaluation sees the same x.
//
// Divergence: a non-finite gradient, parameter, KL or evaluated bound stops the run; the run
// group's status becomes "diverged" with diverged_step and divergence_reason; the trace keeps the
// last finite evaluation.
//
// HDF5, under the run's group (see run_training):
//   attributes: every key of the resolved configuration (typed: integers int64, reals float64,
//     the rest strings), `config` (all "key = value" lines), run_id, gradest_version, git_commit,
//     seed, data_source, data_path, status ("running", "completed", "diverged", "interrupted"),
//     steps_completed; and for synthetic data true_log_likelihood_train/test.
//   trace/{step, train_elbo, test_elbo, test_iwae, recon, kl, active_units, wall_time,
//     steps_per_second, baseline_loss, baseline_explained_variance}: float64, one row per evaluation,
//     flushed to disk after each (the baseline columns: Estimator::diagnostics(), NaN without one).
//   params/values: float32 flat parameter vector; params attributes input_dim, and per group
//     <name>_offset, <name>_size; params/input_mean (float32, D) when centre_input.
//   truth/values (synthetic data): the generating model's parameters.
#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <H5Cpp.h>

#include "estimators/estimator.hpp"
#include "models/vae.hpp"
#include "run/train_config.hpp"
#include "store/data.hpp"
#include "store/params.hpp"
#include "store/run_recorder.hpp"

namespace gradest::train {

// ---- data and model ------------------------------------------------------------------------------
// Loads or generates the configured data (throws ConfigError naming the file / package).
data::DataSplits load_data(const TrainConfig& config);
// Checks the data against the config (batch <= train size, value ranges for the binarization and
// likelihood); false with a one-line reason.
bool check_data(const TrainConfig& config, const data::DataSplits& data, std::string* error);
// The model's configuration for these data (input dimension, input mean, output bias).
VaeConfig make_vae_config(const TrainConfig& config, const data::DataSplits& data);

// The configuration a run group records (its `config` lines, not yet resolved); InputError naming
// the file and the run if it is missing, empty or unreadable.
TrainConfig recorded_config(const H5::Group& run_group);
// Rebuilds the trained model of a run group (its config, input mean and parameters), no data needed.
std::unique_ptr<Vae> load_model(const H5::Group& run_group, TrainConfig* config_out = nullptr);

// ---- the loop --------------------------------------------------------------------------------------
// The KL weight beta_t of step t (0-based): warm-up, then constant, linear or cyclical (see above).
double kl_weight(const TrainConfig& config, std::int64_t step);

// One row of trace/ (store/run_recorder.hpp).
using h5::EvalRecord;

enum class RunStatus { completed, diverged, interrupted };
std::string_view to_string(RunStatus status);

struct TrainResult {
  RunStatus status = RunStatus::completed;
  std::int64_t steps_completed = 0;
  std::int64_t diverged_step = -1;
  std::string divergence_reason;
  EvalRecord last;         // the last finite evaluation
  double seconds = 0;
  bool has_final = false;  // final_eval_full ran
  struct Final {
    double elbo = 0, iwae = 0, recon = 0, kl = 0;
    int active_units = 0;
    std::int64_t examples = 0;
  } final_eval;
};

// What a hook sees: the model and estimator at frozen parameters after `step` updates.
struct StepContext {
  std::int64_t step;
  const TrainConfig& config;
  Vae& vae;
  Estimator& estimator;
  const data::DataSplits& data;
  H5::Group& run_group;
};

struct TrainHooks {
  // Called at steps 0, hook_every, 2*hook_every, ... and at the end (parameters frozen between
  // training steps; the hook may use the model's inference slot and objective, and must leave the
  // parameters unchanged). hook_every = 0: never.
  std::int64_t hook_every = 0;
  std::function<void(const StepContext&)> at_step;
  // After every training step (cheap; the CLI throttles its display).
  std::function<void(std::int64_t step, double steps_per_second, const EvalRecord& latest)> progress;
  // After every evaluation (already written and flushed).
  std::function<void(const EvalRecord&)> on_eval;
  // Set by a signal handler: the run stops after the current step, status "interrupted".
  const std::atomic<bool>* stop = nullptr;
};

// Trains per `config` (resolved and valid; data checked) on `data` and records everything under
// run_group (attributes, trace/, params/, truth/). Never throws for divergence (see TrainResult).
TrainResult run_training(const TrainConfig& config, const data::DataSplits& data, H5::Group& run_group,
                         const TrainHooks& hooks = {});
// Loads the data itself.
TrainResult run_training(const TrainConfig& config, H5::Group& run_group, const TrainHooks& hooks = {});

// ---- evaluation (also used by encode/reconstruct and the tests) -----------------------------------
struct Evaluation {
  double elbo = 0, recon = 0, kl = 0, iwae = std::numeric_limits<double>::quiet_NaN();
  int active_units = 0;
};
// On the given (already binarized) examples; iwae_samples = 0 skips the bound, active units are
// counted when count_active_units. Per example, nats.
Evaluation evaluate(Vae& vae, const Matrix& x, int iwae_samples, bool count_active_units, Rng& rng);

}  // namespace gradest::train
