#pragma once
// A training run's configuration in one place: TrainConfig with its defaults, the keys that the
// command line, sweep configs and the HDF5 record read and write (one table, config_keys()), their
// validation, the DisARM protocol preset and the run id.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "estimators/estimator.hpp"
#include "models/optimizer.hpp"
#include "models/vae.hpp"
#include "store/data.hpp"

namespace gradest::train {

enum class DataKind { fashion_mnist, synthetic, file };
enum class Annealing { none, linear, cyclical };

// The VAE of each latent family: its --model name and its defaults (latents, estimator).
struct VaeModel {
  LatentKind latent;
  std::string_view name;
  int default_latents;
  std::string_view default_estimator;
};
std::span<const VaeModel> vae_models();
const VaeModel* find_vae_model(std::string_view name);  // nullptr for an unknown name
const VaeModel& vae_model(LatentKind latent);

struct TrainConfig {
  // Model
  LatentKind model = LatentKind::bernoulli;
  std::vector<int> encoder = {};            // hidden sizes; empty = linear
  std::optional<std::vector<int>> decoder;  // nullopt = mirror the encoder
  std::optional<int> latents;               // nullopt = the model's default (vae_model)
  Activation activation = Activation::tanh;
  Likelihood likelihood = Likelihood::bernoulli;
  double fixed_sigma = 1.0;
  int categories = 2;
  int latent_categories = 10;               // C of each latent (categorical-vae)
  bool centre_input = false;         // encoder sees x - mean(train)
  bool signed_latent_input = false;  // decoder sees 2z - 1
  bool output_bias_init = false;     // decoder output bias from the train mean
                                     // (logit of it for Bernoulli pixels)
  // Estimator
  std::string estimator;  // "" = the model's default (vae_model)
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
  std::optional<double> prior_lr;  // nullopt = lr (and its decay)
  // KL weight
  double beta = 1.0;        // beta1: the KL weight (after annealing)
  double beta_start = 0.0;  // beta0: where annealing starts
  Annealing annealing = Annealing::none;
  std::int64_t anneal_steps = 0;  // linear: ramp length (0 = every step after warm-up)
  int anneal_cycles = 4;          // cyclical
  std::int64_t warmup_steps = 0;  // reconstruction only (beta = 0)
  double free_bits = 0.0;         // lambda nats per latent dimension
  // Evaluation
  std::int64_t eval_every = 1000;
  std::int64_t eval_train_subset = 1000;
  std::int64_t eval_subset = 0;  // test examples evaluated (0 = all)
  int iwae_samples = 100;        // K of the evaluated bound
  bool final_eval_full = true;   // after training, evaluate the whole test set
                                 // (attributes final_test_elbo, final_test_iwae, ...)
  // Run
  std::uint64_t seed = 1;
  std::string init_from;  // run.h5 whose parameters start training
  std::string init_run;   // its run id, if it holds several

  // Fills nullopt and empty defaults (latents, decoder, estimator, prior lr) in place.
  void resolve();
  // False with a one-line reason naming the option and its allowed values. Checks what can be
  // checked without the data (including make_estimator's model/estimator compatibility).
  bool valid(std::string* error) const;
};

// The DisARM protocol (Dong, Mnih and Tucker 2020, after Yin and Zhou 2019) for the linear Bernoulli
// VAE: 200 latents, batch 50, Adam 1e-4 for encoder and decoder, SGD 1e-2 for the prior logits,
// input centred by the training mean, decoder input 2b - 1, decoder output bias initialised to the logit of the
// training mean, dynamic binarization. Applied before explicit options, which override it.
void apply_disarm_protocol(TrainConfig& config);

// ---- the configuration as keys and values (command line, sweep configs, HDF5 attributes) ----------
// The estimators' options are keys made from their declarations (declared_options(),
// estimators/estimator.hpp), after "estimator"; the rest is one table in train_config.cpp.
struct ConfigKey {
  std::string_view name;  // as the command line and config files take it (without --)
  std::string help;       // one line, with allowed values
  enum class Type { string, integer, real } type = Type::string;
  bool in_run_id = true;  // false for where the data live (a path), not what the run does
  std::function<std::string(const TrainConfig&)> get;
  std::function<void(TrainConfig&, const std::string&)> set;  // throws ConfigError naming key and allowed values
  // Whether the key is part of this run's configuration (empty: always). A key that does not
  // apply is left out of config_text, the run id and the HDF5 record (keys added for one model
  // leave the other models' run ids as they were).
  std::function<bool(const TrainConfig&)> applies = {};
};
std::span<const ConfigKey> config_keys();
// The keys with these estimator options in place of the registered ones (tests of an estimator
// that is not registered).
std::vector<ConfigKey> config_keys(std::span<const DeclaredOption> estimator_options);
const ConfigKey* find_config_key(std::string_view name);
// Throws ConfigError for an unknown key (listing the keys) or a bad value.
void set_config_value(TrainConfig& config, std::string_view key, const std::string& value);
// "key = value" lines in config_keys() order.
std::string config_text(const TrainConfig& config);
// Inverse of config_text (for --init-from, encode/sample, rerun).
TrainConfig parse_config_text(const std::string& text);
// Stable id: 16 hex digits of a hash of the resolved configuration's run-id keys (same on any
// machine, any order of options).
std::string run_id(const TrainConfig& resolved);

}  // namespace gradest::train
