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
#include "experiments/data.hpp"
#include "models/optimizer.hpp"
#include "models/vae.hpp"

namespace gradest::train {

enum class DataKind { fashion_mnist, synthetic, file };
enum class Annealing { none, linear, cyclical };

struct TrainConfig {
  // Model
  LatentKind model = LatentKind::bernoulli;
  std::vector<int> encoder = {};                  // hidden sizes; empty = linear
  std::optional<std::vector<int>> decoder;        // nullopt = mirror the encoder
  std::optional<int> latents;                     // nullopt = 200 (bernoulli-vae) or 20 (gaussian-vae)
  Activation activation = Activation::tanh;
  Likelihood likelihood = Likelihood::bernoulli;
  double fixed_sigma = 1.0;
  int categories = 2;
  bool centre_input = false;                      // encoder sees x - mean(train)
  bool signed_latent_input = false;               // decoder sees 2z - 1
  bool output_bias_init = false;                  // decoder output bias from the train mean
                                                  // (logit of it for Bernoulli pixels)
  // Estimator
  std::string estimator;                          // "" = pathwise (gaussian-vae), reinforce (bernoulli-vae)
  EstimatorOptions estimator_options;
  // Data
  DataKind data = DataKind::fashion_mnist;
  std::string data_file;                          // DataKind::file
  std::string data_dir = data::kFashionMnistDir;  // DataKind::fashion_mnist
  data::Binarize binarize = data::Binarize::dynamic;
  data::SyntheticOptions synthetic;
  // Optimisation
  std::int64_t steps = 10000;
  int batch = 100;
  double lr = 1e-3;
  double lr_final = 1e-4;
  LrDecay lr_decay = LrDecay::none;
  OptimizerKind optimizer = OptimizerKind::adam;
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_epsilon = 1e-8;
  OptimizerKind prior_optimizer = OptimizerKind::adam;
  std::optional<double> prior_lr;                 // nullopt = lr (and its decay)
  // KL weight
  double beta = 1.0;                              // beta1: the KL weight (after annealing)
  double beta_start = 0.0;                        // beta0: where annealing starts
  Annealing annealing = Annealing::none;
  std::int64_t anneal_steps = 0;                  // linear: ramp length (0 = every step after warm-up)
  int anneal_cycles = 4;                          // cyclical
  std::int64_t warmup_steps = 0;                  // reconstruction only (beta = 0)
  double free_bits = 0.0;                         // lambda nats per latent dimension
  // Evaluation
  std::int64_t eval_every = 1000;
  std::int64_t eval_train_subset = 1000;
  std::int64_t eval_subset = 0;                   // test examples evaluated (0 = all)
  int iwae_samples = 100;                         // K of the evaluated bound
  bool final_eval_full = true;                    // after training, evaluate the whole test set
                                                  // (attributes final_test_elbo, final_test_iwae, ...)
  // Run
  std::uint64_t seed = 1;
  std::string init_from;                          // run.h5 whose parameters start training
  std::string init_run;                           // its run id, if it holds several

  // Fills nullopt and empty defaults (latents, decoder, estimator, prior lr) in place.
  void resolve();
  // False with a one-line reason naming the option and its allowed values. Checks what can be
  // checked without the data (including make_estimator's model/estimator compatibility).
  bool valid(std::string* error) const;
};

// The DisARM protocol (Dong, Mnih and Tucker 2020, after Yin and Zhou 2019) for the linear Bernoulli
// VAE: 200 latents, batch 50, Adam 1e-4 for encoder and decoder, SGD 1e-2 for the prior logits,
// input centred by the training mean, decoder input 2b - 1, decoder output bias initialised to the logit of the training
// mean, dynamic binarization. Applied before explicit options, which override it.
void apply_disarm_protocol(TrainConfig& config);

// ---- the configuration as keys and values (command line, sweep configs, HDF5 attributes) ----------
struct ConfigKey {
  std::string_view name;     // as the command line and config files take it (without --)
  std::string_view help;     // one line, with allowed values
  enum class Type { string, integer, real } type = Type::string;
  bool in_run_id = true;     // false for where the data live (a path), not what the run does
  std::string (*get)(const TrainConfig&);
  void (*set)(TrainConfig&, const std::string&);  // throws cli::UsageError naming key and allowed values
};
std::span<const ConfigKey> config_keys();
const ConfigKey* find_config_key(std::string_view name);
// Throws cli::UsageError for an unknown key (listing the keys) or a bad value.
void set_config_value(TrainConfig& config, std::string_view key, const std::string& value);
// "key = value" lines in config_keys() order.
std::string config_text(const TrainConfig& config);
// Inverse of config_text (for --init-from, encode/sample, rerun).
TrainConfig parse_config_text(const std::string& text);
// Stable id: 16 hex digits of a hash of the resolved configuration's run-id keys (same on any
// machine, any order of options).
std::string run_id(const TrainConfig& resolved);

// ---- data and model ------------------------------------------------------------------------------
// Loads or generates the configured data (throws cli::UsageError naming the file / package).
data::DataSplits load_data(const TrainConfig& config);
// Checks the data against the config (batch <= train size, value ranges for the binarization and
// likelihood); false with a one-line reason.
bool check_data(const TrainConfig& config, const data::DataSplits& data, std::string* error);
// The model's configuration for these data (input dimension, input mean, output bias).
VaeConfig make_vae_config(const TrainConfig& config, const data::DataSplits& data);

// Loads the parameters saved under a run group (params/values) into vae; throws cli::UsageError on
// a size or layout mismatch.
void load_parameters(const H5::Group& run_group, Vae& vae, const std::string& what);
// Opens the run `run` (or the only run) of a gradest file; throws cli::UsageError otherwise.
H5::Group open_run(H5::H5File& file, const std::string& path, const std::string& run);
// Rebuilds the trained model of a run group (its config, input mean and parameters), no data needed.
std::unique_ptr<Vae> load_model(const H5::Group& run_group, TrainConfig* config_out = nullptr);

// ---- the loop --------------------------------------------------------------------------------------
// The KL weight beta_t of step t (0-based): warm-up, then constant, linear or cyclical (see above).
double kl_weight(const TrainConfig& config, std::int64_t step);

struct EvalRecord {
  std::int64_t step = 0;
  double train_elbo = std::numeric_limits<double>::quiet_NaN();
  double test_elbo = std::numeric_limits<double>::quiet_NaN();
  double test_iwae = std::numeric_limits<double>::quiet_NaN();
  double recon = std::numeric_limits<double>::quiet_NaN();
  double kl = std::numeric_limits<double>::quiet_NaN();
  double active_units = std::numeric_limits<double>::quiet_NaN();
  double wall_time = 0;
  double steps_per_second = std::numeric_limits<double>::quiet_NaN();
  bool finite() const;
};

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
