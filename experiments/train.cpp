#include "experiments/train.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>

#include "experiments/cli.hpp"
#include "experiments/h5io.hpp"
#include "gradest_version.hpp"
#include "models/distributions.hpp"

namespace gradest::train {

// ---- configuration ---------------------------------------------------------------------------------

namespace {

using cli::UsageError;

[[noreturn]] void bad_value(std::string_view key, const std::string& value, std::string_view allowed) {
  throw UsageError(fmt::format("option '--{}': invalid value '{}'; allowed: {}", key, value, allowed));
}

std::int64_t parse_integer(std::string_view key, const std::string& value) {
  const auto list = cli::parse_int_list(value, key);
  if (list.size() != 1) bad_value(key, value, "one integer");
  return list.front();
}

double parse_real(std::string_view key, const std::string& value) {
  const auto list = cli::parse_real_list(value, key);
  if (list.size() != 1 || value.find(':') != std::string::npos) bad_value(key, value, "one number");
  return list.front();
}

bool parse_bool(std::string_view key, const std::string& value) {
  if (value == "true" || value == "1" || value == "yes" || value == "on") return true;
  if (value == "false" || value == "0" || value == "no" || value == "off") return false;
  bad_value(key, value, "true, false");
}

std::vector<int> parse_hidden(std::string_view key, const std::string& value) {
  if (value == "linear" || value == "none") return {};
  std::vector<int> out;
  for (const auto& item : cli::split(value, ',')) {
    std::int64_t h = 0;
    try {
      h = parse_integer(key, item);
    } catch (const UsageError&) {
      bad_value(key, value, "linear, or hidden sizes such as 200,200");
    }
    if (h < 1 || h > 1000000) bad_value(key, value, "linear, or hidden sizes >= 1 such as 200,200");
    out.push_back(int(h));
  }
  return out;
}

std::string hidden_text(const std::vector<int>& hidden) {
  if (hidden.empty()) return "linear";
  return fmt::format("{}", fmt::join(hidden, ","));
}

std::string real_text(double x) { return fmt::format("{}", x); }
std::string bool_text(bool b) { return b ? "true" : "false"; }

std::string_view model_name(LatentKind kind) { return kind == LatentKind::bernoulli ? "bernoulli-vae" : "gaussian-vae"; }

std::string data_text(const TrainConfig& c) {
  switch (c.data) {
    case DataKind::fashion_mnist: return "fashion-mnist";
    case DataKind::synthetic: return "synthetic";
    case DataKind::file: return c.data_file;
  }
  return "?";
}

std::string_view annealing_name(Annealing a) {
  switch (a) {
    case Annealing::none: return "none";
    case Annealing::linear: return "linear";
    case Annealing::cyclical: return "cyclical";
  }
  return "?";
}

int int_in_range(std::string_view key, const std::string& value) {
  const std::int64_t v = parse_integer(key, value);
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) bad_value(key, value, "a 32-bit integer");
  return int(v);
}

using T = ConfigKey::Type;

// Every option of a training run. Order = the order of config_text and of HDF5 attributes.
const std::vector<ConfigKey> kKeys = {
    {"model", "bernoulli-vae | gaussian-vae", T::string, true,
     [](const TrainConfig& c) { return std::string(model_name(c.model)); },
     [](TrainConfig& c, const std::string& v) {
       if (v == "bernoulli-vae") c.model = LatentKind::bernoulli;
       else if (v == "gaussian-vae") c.model = LatentKind::gaussian;
       else bad_value("model", v, "bernoulli-vae, gaussian-vae");
     }},
    {"encoder", "linear | hidden sizes, e.g. 200,200", T::string, true,
     [](const TrainConfig& c) { return hidden_text(c.encoder); },
     [](TrainConfig& c, const std::string& v) { c.encoder = parse_hidden("encoder", v); }},
    {"decoder", "mirror (the encoder's sizes reversed) | linear | hidden sizes", T::string, true,
     [](const TrainConfig& c) { return c.decoder ? hidden_text(*c.decoder) : std::string("mirror"); },
     [](TrainConfig& c, const std::string& v) {
       if (v == "mirror") c.decoder.reset();
       else c.decoder = parse_hidden("decoder", v);
     }},
    {"latents", "number of latent units (default 200 bernoulli-vae, 20 gaussian-vae)", T::integer, true,
     [](const TrainConfig& c) { return c.latents ? std::to_string(*c.latents) : std::string("default"); },
     [](TrainConfig& c, const std::string& v) {
       if (v == "default") c.latents.reset();
       else c.latents = int_in_range("latents", v);
     }},
    {"activation", "none | tanh | relu | leaky_relu (slope 0.3)", T::string, true,
     [](const TrainConfig& c) { return std::string(to_string(c.activation)); },
     [](TrainConfig& c, const std::string& v) {
       auto a = parse_activation(v);
       if (!a) bad_value("activation", v, activation_names());
       c.activation = *a;
     }},
    {"likelihood", "bernoulli | gaussian-fixed | gaussian-learned | categorical", T::string, true,
     [](const TrainConfig& c) { return std::string(to_string(c.likelihood)); },
     [](TrainConfig& c, const std::string& v) {
       auto l = parse_likelihood(v);
       if (!l) bad_value("likelihood", v, likelihood_names());
       c.likelihood = *l;
     }},
    {"fixed-sigma", "sigma of the gaussian-fixed likelihood (start of gaussian-learned)", T::real, true,
     [](const TrainConfig& c) { return real_text(c.fixed_sigma); },
     [](TrainConfig& c, const std::string& v) { c.fixed_sigma = parse_real("fixed-sigma", v); }},
    {"categories", "symbols per position of the categorical likelihood", T::integer, true,
     [](const TrainConfig& c) { return std::to_string(c.categories); },
     [](TrainConfig& c, const std::string& v) { c.categories = int_in_range("categories", v); }},
    {"centre-input", "encoder sees x minus the training mean: true | false", T::string, true,
     [](const TrainConfig& c) { return bool_text(c.centre_input); },
     [](TrainConfig& c, const std::string& v) { c.centre_input = parse_bool("centre-input", v); }},
    {"signed-latent-input", "decoder sees 2z-1 (Bernoulli latents): true | false", T::string, true,
     [](const TrainConfig& c) { return bool_text(c.signed_latent_input); },
     [](TrainConfig& c, const std::string& v) { c.signed_latent_input = parse_bool("signed-latent-input", v); }},
    {"output-bias-init", "decoder output bias from the training mean (its logit for Bernoulli pixels): true | false",
     T::string, true, [](const TrainConfig& c) { return bool_text(c.output_bias_init); },
     [](TrainConfig& c, const std::string& v) { c.output_bias_init = parse_bool("output-bias-init", v); }},
    {"estimator", "gradient estimator (see gradest list)", T::string, true,
     [](const TrainConfig& c) { return c.estimator.empty() ? std::string("default") : c.estimator; },
     [](TrainConfig& c, const std::string& v) { c.estimator = v == "default" ? std::string() : v; }},
    {"samples", "samples S per data point (K for importance-weighted estimators)", T::integer, true,
     [](const TrainConfig& c) { return std::to_string(c.estimator_options.samples); },
     [](TrainConfig& c, const std::string& v) { c.estimator_options.samples = int_in_range("samples", v); }},
    {"temperature", "relaxation temperature (gumbel-softmax)", T::real, true,
     [](const TrainConfig& c) { return real_text(c.estimator_options.temperature); },
     [](TrainConfig& c, const std::string& v) { c.estimator_options.temperature = parse_real("temperature", v); }},
    {"baseline-decay", "reinforce-ma moving-average decay in [0, 1)", T::real, true,
     [](const TrainConfig& c) { return real_text(c.estimator_options.baseline_decay); },
     [](TrainConfig& c, const std::string& v) { c.estimator_options.baseline_decay = parse_real("baseline-decay", v); }},
    {"baseline-hidden", "reinforce-nvil baseline MLP hidden sizes", T::string, true,
     [](const TrainConfig& c) { return hidden_text(c.estimator_options.baseline_hidden); },
     [](TrainConfig& c, const std::string& v) { c.estimator_options.baseline_hidden = parse_hidden("baseline-hidden", v); }},
    {"baseline-lr", "reinforce-nvil baseline Adam step size", T::real, true,
     [](const TrainConfig& c) { return real_text(c.estimator_options.baseline_lr); },
     [](TrainConfig& c, const std::string& v) { c.estimator_options.baseline_lr = parse_real("baseline-lr", v); }},
    {"baseline-centre", "reinforce-nvil centring: true | false", T::string, true,
     [](const TrainConfig& c) { return bool_text(c.estimator_options.baseline_centre); },
     [](TrainConfig& c, const std::string& v) { c.estimator_options.baseline_centre = parse_bool("baseline-centre", v); }},
    {"baseline-normalise", "reinforce-nvil variance normalisation: true | false", T::string, true,
     [](const TrainConfig& c) { return bool_text(c.estimator_options.baseline_normalise); },
     [](TrainConfig& c, const std::string& v) { c.estimator_options.baseline_normalise = parse_bool("baseline-normalise", v); }},
    {"data", "fashion-mnist | synthetic | FILE.h5 (an N x D dataset)", T::string, false,
     [](const TrainConfig& c) { return data_text(c); },
     [](TrainConfig& c, const std::string& v) {
       if (v == "fashion-mnist") c.data = DataKind::fashion_mnist;
       else if (v == "synthetic") c.data = DataKind::synthetic;
       else if (v.empty()) bad_value("data", v, "fashion-mnist, synthetic, FILE.h5");
       else c.data = DataKind::file, c.data_file = v;
     }},
    {"data-dir", "directory of the Fashion-MNIST idx .gz files", T::string, false,
     [](const TrainConfig& c) { return c.data_dir; }, [](TrainConfig& c, const std::string& v) { c.data_dir = v; }},
    {"binarize", "dynamic | threshold | none", T::string, true,
     [](const TrainConfig& c) { return std::string(data::to_string(c.binarize)); },
     [](TrainConfig& c, const std::string& v) {
       if (!data::parse_binarize(v, &c.binarize)) bad_value("binarize", v, "dynamic, threshold, none");
     }},
    {"synthetic-latents", "synthetic data: latents of the true model", T::integer, true,
     [](const TrainConfig& c) { return std::to_string(c.synthetic.latents); },
     [](TrainConfig& c, const std::string& v) { c.synthetic.latents = int_in_range("synthetic-latents", v); }},
    {"synthetic-dim", "synthetic data: dimension D", T::integer, true,
     [](const TrainConfig& c) { return std::to_string(c.synthetic.dim); },
     [](TrainConfig& c, const std::string& v) { c.synthetic.dim = int_in_range("synthetic-dim", v); }},
    {"synthetic-train", "synthetic data: training examples", T::integer, true,
     [](const TrainConfig& c) { return std::to_string(c.synthetic.train); },
     [](TrainConfig& c, const std::string& v) { c.synthetic.train = parse_integer("synthetic-train", v); }},
    {"synthetic-test", "synthetic data: test examples", T::integer, true,
     [](const TrainConfig& c) { return std::to_string(c.synthetic.test); },
     [](TrainConfig& c, const std::string& v) { c.synthetic.test = parse_integer("synthetic-test", v); }},
    {"synthetic-scale", "synthetic data: decoder weight scale of the true model", T::real, true,
     [](const TrainConfig& c) { return real_text(c.synthetic.weight_scale); },
     [](TrainConfig& c, const std::string& v) { c.synthetic.weight_scale = parse_real("synthetic-scale", v); }},
    {"synthetic-seed", "synthetic data: seed of the true model and its data", T::integer, true,
     [](const TrainConfig& c) { return std::to_string(c.synthetic.seed); },
     [](TrainConfig& c, const std::string& v) {
       const auto s = parse_integer("synthetic-seed", v);
       if (s < 0) bad_value("synthetic-seed", v, "an integer >= 0");
       c.synthetic.seed = std::uint64_t(s);
     }},
    {"steps", "training steps", T::integer, true, [](const TrainConfig& c) { return std::to_string(c.steps); },
     [](TrainConfig& c, const std::string& v) { c.steps = parse_integer("steps", v); }},
    {"batch", "minibatch size B", T::integer, true, [](const TrainConfig& c) { return std::to_string(c.batch); },
     [](TrainConfig& c, const std::string& v) { c.batch = int_in_range("batch", v); }},
    {"lr", "learning rate of encoder and decoder (initial, with --lr-decay)", T::real, true,
     [](const TrainConfig& c) { return real_text(c.lr); },
     [](TrainConfig& c, const std::string& v) { c.lr = parse_real("lr", v); }},
    {"lr-final", "learning rate reached at the last step with --lr-decay", T::real, true,
     [](const TrainConfig& c) { return real_text(c.lr_final); },
     [](TrainConfig& c, const std::string& v) { c.lr_final = parse_real("lr-final", v); }},
    {"lr-decay", "none | exponential | cosine (every group, by the factor lr-final/lr)", T::string, true,
     [](const TrainConfig& c) { return std::string(to_string(c.lr_decay)); },
     [](TrainConfig& c, const std::string& v) {
       if (!parse_lr_decay(v, &c.lr_decay)) bad_value("lr-decay", v, "none, exponential, cosine");
     }},
    {"optimizer", "adam | sgd (encoder and decoder)", T::string, true,
     [](const TrainConfig& c) { return std::string(to_string(c.optimizer)); },
     [](TrainConfig& c, const std::string& v) {
       if (!parse_optimizer_kind(v, &c.optimizer)) bad_value("optimizer", v, "adam, sgd");
     }},
    {"adam-beta1", "Adam beta1", T::real, true, [](const TrainConfig& c) { return real_text(c.adam_beta1); },
     [](TrainConfig& c, const std::string& v) { c.adam_beta1 = parse_real("adam-beta1", v); }},
    {"adam-beta2", "Adam beta2", T::real, true, [](const TrainConfig& c) { return real_text(c.adam_beta2); },
     [](TrainConfig& c, const std::string& v) { c.adam_beta2 = parse_real("adam-beta2", v); }},
    {"adam-epsilon", "Adam epsilon", T::real, true, [](const TrainConfig& c) { return real_text(c.adam_epsilon); },
     [](TrainConfig& c, const std::string& v) { c.adam_epsilon = parse_real("adam-epsilon", v); }},
    {"prior-optimizer", "adam | sgd for the prior logits (bernoulli-vae)", T::string, true,
     [](const TrainConfig& c) { return std::string(to_string(c.prior_optimizer)); },
     [](TrainConfig& c, const std::string& v) {
       if (!parse_optimizer_kind(v, &c.prior_optimizer)) bad_value("prior-optimizer", v, "adam, sgd");
     }},
    {"prior-lr", "learning rate of the prior logits (default: lr)", T::real, true,
     [](const TrainConfig& c) { return c.prior_lr ? real_text(*c.prior_lr) : std::string("default"); },
     [](TrainConfig& c, const std::string& v) {
       if (v == "default") c.prior_lr.reset();
       else c.prior_lr = parse_real("prior-lr", v);
     }},
    {"beta", "KL weight beta1 (after warm-up and annealing)", T::real, true,
     [](const TrainConfig& c) { return real_text(c.beta); },
     [](TrainConfig& c, const std::string& v) { c.beta = parse_real("beta", v); }},
    {"beta-start", "KL weight beta0 where annealing starts", T::real, true,
     [](const TrainConfig& c) { return real_text(c.beta_start); },
     [](TrainConfig& c, const std::string& v) { c.beta_start = parse_real("beta-start", v); }},
    {"annealing", "none | linear | cyclical (KL weight beta0 -> beta1)", T::string, true,
     [](const TrainConfig& c) { return std::string(annealing_name(c.annealing)); },
     [](TrainConfig& c, const std::string& v) {
       if (v == "none") c.annealing = Annealing::none;
       else if (v == "linear") c.annealing = Annealing::linear;
       else if (v == "cyclical") c.annealing = Annealing::cyclical;
       else bad_value("annealing", v, "none, linear, cyclical");
     }},
    {"anneal-steps", "linear annealing length in steps (0: until the last step)", T::integer, true,
     [](const TrainConfig& c) { return std::to_string(c.anneal_steps); },
     [](TrainConfig& c, const std::string& v) { c.anneal_steps = parse_integer("anneal-steps", v); }},
    {"anneal-cycles", "cycles of cyclical annealing", T::integer, true,
     [](const TrainConfig& c) { return std::to_string(c.anneal_cycles); },
     [](TrainConfig& c, const std::string& v) { c.anneal_cycles = int_in_range("anneal-cycles", v); }},
    {"warmup-steps", "reconstruction-only steps (beta = 0) at the start", T::integer, true,
     [](const TrainConfig& c) { return std::to_string(c.warmup_steps); },
     [](TrainConfig& c, const std::string& v) { c.warmup_steps = parse_integer("warmup-steps", v); }},
    {"free-bits", "free bits lambda, nats per latent dimension (0: off)", T::real, true,
     [](const TrainConfig& c) { return real_text(c.free_bits); },
     [](TrainConfig& c, const std::string& v) { c.free_bits = parse_real("free-bits", v); }},
    {"eval-every", "evaluate every E steps", T::integer, true,
     [](const TrainConfig& c) { return std::to_string(c.eval_every); },
     [](TrainConfig& c, const std::string& v) { c.eval_every = parse_integer("eval-every", v); }},
    {"eval-train-subset", "training examples of the train ELBO", T::integer, true,
     [](const TrainConfig& c) { return std::to_string(c.eval_train_subset); },
     [](TrainConfig& c, const std::string& v) { c.eval_train_subset = parse_integer("eval-train-subset", v); }},
    {"eval-subset", "test examples evaluated during training (0: all)", T::integer, true,
     [](const TrainConfig& c) { return std::to_string(c.eval_subset); },
     [](TrainConfig& c, const std::string& v) { c.eval_subset = parse_integer("eval-subset", v); }},
    {"iwae-samples", "K of the evaluated importance-weighted bound", T::integer, true,
     [](const TrainConfig& c) { return std::to_string(c.iwae_samples); },
     [](TrainConfig& c, const std::string& v) { c.iwae_samples = int_in_range("iwae-samples", v); }},
    {"final-eval-full", "evaluate the whole test set after training: true | false", T::string, true,
     [](const TrainConfig& c) { return bool_text(c.final_eval_full); },
     [](TrainConfig& c, const std::string& v) { c.final_eval_full = parse_bool("final-eval-full", v); }},
    {"seed", "seed of every random stream of the run", T::integer, true,
     [](const TrainConfig& c) { return std::to_string(c.seed); },
     [](TrainConfig& c, const std::string& v) {
       const auto s = parse_integer("seed", v);
       if (s < 0) bad_value("seed", v, "an integer >= 0");
       c.seed = std::uint64_t(s);
     }},
    {"init-from", "run.h5 whose saved parameters start training", T::string, true,
     [](const TrainConfig& c) { return c.init_from; }, [](TrainConfig& c, const std::string& v) { c.init_from = v; }},
    {"init-run", "run id inside --init-from (if it holds several runs)", T::string, true,
     [](const TrainConfig& c) { return c.init_run; }, [](TrainConfig& c, const std::string& v) { c.init_run = v; }},
};

std::string key_names() {
  std::string out;
  for (const auto& k : kKeys) out += (out.empty() ? "" : ", ") + std::string(k.name);
  return out;
}

}  // namespace

std::span<const ConfigKey> config_keys() { return kKeys; }

const ConfigKey* find_config_key(std::string_view name) {
  for (const auto& k : kKeys)
    if (k.name == name) return &k;
  return nullptr;
}

void set_config_value(TrainConfig& config, std::string_view key, const std::string& value) {
  const ConfigKey* k = find_config_key(key);
  if (!k) throw UsageError(fmt::format("unknown option '{}'; allowed: {}", key, key_names()));
  k->set(config, cli::trim(value));
}

std::string config_text(const TrainConfig& config) {
  std::string out;
  for (const auto& k : kKeys) out += fmt::format("{} = {}\n", k.name, k.get(config));
  return out;
}

TrainConfig parse_config_text(const std::string& text) {
  TrainConfig config;
  for (const auto& line : cli::split(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) throw UsageError(fmt::format("configuration line '{}' is not 'key = value'", line));
    set_config_value(config, cli::trim(line.substr(0, eq)), cli::trim(line.substr(eq + 1)));
  }
  return config;
}

std::string run_id(const TrainConfig& resolved) {
  std::string text;
  for (const auto& k : kKeys)
    if (k.in_run_id) text += fmt::format("{} = {}\n", k.name, k.get(resolved));
  return fmt::format("{:016x}", stable_hash(text));
}

void TrainConfig::resolve() {
  if (!latents) latents = model == LatentKind::bernoulli ? 200 : 20;
  if (!decoder) decoder = std::vector<int>(encoder.rbegin(), encoder.rend());
  if (estimator.empty()) estimator = model == LatentKind::gaussian ? "pathwise" : "reinforce";
  if (!prior_lr) prior_lr = lr;
  synthetic.latent = model;
}

bool TrainConfig::valid(std::string* error) const {
  auto fail = [&](std::string message) {
    if (error) *error = std::move(message);
    return false;
  };
  if (latents && *latents < 1) return fail(fmt::format("--latents must be >= 1, got {}", *latents));
  if (steps < 1) return fail(fmt::format("--steps must be >= 1, got {}", steps));
  if (batch < 1) return fail(fmt::format("--batch must be >= 1, got {}", batch));
  if (!(lr > 0) || !std::isfinite(lr)) return fail(fmt::format("--lr must be > 0, got {}", lr));
  if (lr_decay != LrDecay::none && !(lr_final > 0)) return fail(fmt::format("--lr-final must be > 0, got {}", lr_final));
  if (prior_lr && !(*prior_lr > 0)) return fail(fmt::format("--prior-lr must be > 0, got {}", *prior_lr));
  if (!(adam_beta1 >= 0 && adam_beta1 < 1)) return fail(fmt::format("--adam-beta1 must be in [0, 1), got {}", adam_beta1));
  if (!(adam_beta2 >= 0 && adam_beta2 < 1)) return fail(fmt::format("--adam-beta2 must be in [0, 1), got {}", adam_beta2));
  if (!(adam_epsilon > 0)) return fail(fmt::format("--adam-epsilon must be > 0, got {}", adam_epsilon));
  if (!(fixed_sigma > 0)) return fail(fmt::format("--fixed-sigma must be > 0, got {}", fixed_sigma));
  if (likelihood == Likelihood::categorical && categories < 2)
    return fail(fmt::format("--categories must be >= 2, got {}", categories));
  if (likelihood == Likelihood::categorical && binarize != data::Binarize::none)
    return fail("the categorical likelihood needs --binarize none (the data are symbol ids)");
  if (signed_latent_input && model != LatentKind::bernoulli)
    return fail("--signed-latent-input applies to bernoulli-vae only");
  if (!(beta >= 0) || !(beta_start >= 0)) return fail(fmt::format("--beta and --beta-start must be >= 0, got {} and {}", beta, beta_start));
  if (anneal_steps < 0) return fail(fmt::format("--anneal-steps must be >= 0, got {}", anneal_steps));
  if (anneal_cycles < 1) return fail(fmt::format("--anneal-cycles must be >= 1, got {}", anneal_cycles));
  if (warmup_steps < 0) return fail(fmt::format("--warmup-steps must be >= 0, got {}", warmup_steps));
  if (!(free_bits >= 0)) return fail(fmt::format("--free-bits must be >= 0, got {}", free_bits));
  if (eval_every < 1) return fail(fmt::format("--eval-every must be >= 1, got {}", eval_every));
  if (eval_train_subset < 1) return fail(fmt::format("--eval-train-subset must be >= 1, got {}", eval_train_subset));
  if (eval_subset < 0) return fail(fmt::format("--eval-subset must be >= 0 (0: the whole test set), got {}", eval_subset));
  if (iwae_samples < 1) return fail(fmt::format("--iwae-samples must be >= 1, got {}", iwae_samples));
  if (data == DataKind::synthetic) {
    if (likelihood != Likelihood::bernoulli) return fail("--data synthetic draws binary data: use --likelihood bernoulli");
    if (!synthetic.valid(error)) return false;
  }
  if (!init_run.empty() && init_from.empty()) return fail("--init-run needs --init-from");
  // The estimator: its name, its latent kind, its sample count and options.
  const std::string name = estimator.empty() ? (model == LatentKind::gaussian ? "pathwise" : "reinforce") : estimator;
  std::string estimator_error;
  auto made = make_estimator(name, estimator_options, model, &estimator_error);
  if (!made) return fail(estimator_error);
  if (made->info().target == Target::importance_bound &&
      (beta != 1.0 || annealing != Annealing::none || warmup_steps != 0 || free_bits != 0))
    return fail(fmt::format("estimator '{}' optimises the K-sample bound: --beta, --annealing, --warmup-steps and "
                            "--free-bits apply to ELBO estimators only",
                            name));
  return true;
}

void apply_disarm_protocol(TrainConfig& config) {
  config.model = LatentKind::bernoulli;
  config.latents = 200;
  config.encoder = {};
  config.decoder.reset();
  config.batch = 50;
  config.lr = 1e-4;
  config.lr_decay = LrDecay::none;
  config.optimizer = OptimizerKind::adam;
  config.prior_optimizer = OptimizerKind::sgd;
  config.prior_lr = 1e-2;
  config.centre_input = true;
  config.signed_latent_input = true;
  config.output_bias_init = true;
  config.binarize = data::Binarize::dynamic;
  config.likelihood = Likelihood::bernoulli;
}

// ---- data and model ------------------------------------------------------------------------------

data::DataSplits load_data(const TrainConfig& config) {
  switch (config.data) {
    case DataKind::fashion_mnist: return data::load_fashion_mnist(config.data_dir);
    case DataKind::file: return data::load_hdf5(config.data_file);
    case DataKind::synthetic: {
      data::SyntheticOptions options = config.synthetic;
      options.latent = config.model;
      return data::make_synthetic(options);
    }
  }
  throw std::logic_error("unknown data kind");
}

namespace {

// The mean of x as the model sees it (after binarization), per dimension.
VectorD seen_mean(const TrainConfig& config, const data::Dataset& train) {
  if (config.binarize != data::Binarize::threshold) return train.mean();
  VectorD sum = VectorD::Zero(train.dim());
  for (Index i = 0; i < train.size(); ++i)
    for (Index j = 0; j < train.dim(); ++j) sum(j) += train.value(i, j) > Real(0.5) ? 1.0 : 0.0;
  return sum / double(std::max<Index>(1, train.size()));
}

VaeConfig vae_config(const TrainConfig& config, int input_dim, const VectorD& mean) {
  VaeConfig vc;
  vc.latent = config.model;
  vc.input_dim = input_dim;
  vc.latents = config.latents.value_or(config.model == LatentKind::bernoulli ? 200 : 20);
  vc.encoder = NetworkSpec{config.encoder, config.activation};
  vc.decoder = NetworkSpec{config.decoder.value_or(std::vector<int>(config.encoder.rbegin(), config.encoder.rend())),
                           config.activation};
  vc.likelihood = config.likelihood;
  vc.categories = config.categories;
  vc.fixed_sigma = config.fixed_sigma;
  vc.centre_input = config.centre_input;
  if (config.centre_input) vc.input_mean = mean.cast<Real>();
  vc.signed_latent_input = config.signed_latent_input;
  if (config.output_bias_init && mean.size() == input_dim) {
    if (config.likelihood == Likelihood::bernoulli) {
      // Clipped so that pixels that are always 0 (or 1) in the data get a finite bias.
      const VectorD p = mean.array().max(1e-3).min(1.0 - 1e-3);
      vc.output_bias_init = (p.array() / (1.0 - p.array())).log().cast<Real>();
    } else if (config.likelihood != Likelihood::categorical) {
      vc.output_bias_init = mean.cast<Real>();
    }
  }
  return vc;
}

}  // namespace

VaeConfig make_vae_config(const TrainConfig& config, const data::DataSplits& data) {
  const bool need_mean = config.centre_input || config.output_bias_init;
  return vae_config(config, int(data.train.dim()), need_mean ? seen_mean(config, data.train) : VectorD());
}

bool check_data(const TrainConfig& config, const data::DataSplits& data, std::string* error) {
  auto fail = [&](std::string message) {
    if (error) *error = std::move(message);
    return false;
  };
  if (data.train.empty() || data.test.empty()) return fail("the data have an empty train or test split");
  if (config.batch > data.train.size())
    return fail(fmt::format("--batch {} is larger than the {} training examples", config.batch, data.train.size()));
  const double lo = std::min(data.train.min_value(), data.test.min_value());
  const double hi = std::max(data.train.max_value(), data.test.max_value());
  if ((config.binarize != data::Binarize::none || config.likelihood == Likelihood::bernoulli) && (lo < 0 || hi > 1))
    return fail(fmt::format("data values span [{}, {}]; --binarize {} with the {} likelihood needs values in [0, 1] "
                            "(use --binarize none --likelihood gaussian-fixed for real-valued data)",
                            lo, hi, data::to_string(config.binarize), to_string(config.likelihood)));
  if (config.likelihood == Likelihood::categorical) {
    for (const auto* split : {&data.train, &data.test})
      for (Index i = 0; i < split->size(); ++i)
        for (Index j = 0; j < split->dim(); ++j) {
          const double v = split->value(i, j);
          if (v < 0 || v >= config.categories || v != std::floor(v))
            return fail(fmt::format("the categorical likelihood needs symbol ids 0..{}; found {}", config.categories - 1, v));
        }
  }
  if (config.data == DataKind::synthetic && config.latents && config.model == LatentKind::bernoulli &&
      config.synthetic.dim != data.train.dim())
    return fail("synthetic data dimension mismatch");
  TrainConfig resolved = config;
  resolved.resolve();
  const VaeConfig vc = make_vae_config(resolved, data);
  std::string vae_error;
  if (!vc.valid(&vae_error)) return fail(vae_error);
  return true;
}

void load_parameters(const H5::Group& run_group, Vae& vae, const std::string& what) {
  if (!run_group.nameExists("params") || !H5::Group(run_group.openGroup("params")).nameExists("values"))
    throw UsageError(fmt::format("{} has no saved parameters (params/values)", what));
  H5::Group params = run_group.openGroup("params");
  const std::vector<double> values = h5::read_vector(params, "values");
  Vector& target = vae.parameters().values();
  if (Index(values.size()) != target.size())
    throw UsageError(fmt::format("{} holds {} parameters; this model has {} (different model options?)", what,
                                 values.size(), target.size()));
  for (const auto& group : vae.parameters().groups()) {
    const std::string key = group.name + "_size";
    if (params.attrExists(key)) {
      std::int64_t size = 0;
      params.openAttribute(key).read(H5::PredType::NATIVE_INT64, &size);
      if (size != group.size)
        throw UsageError(fmt::format("{}: parameter group '{}' has {} values, this model {}", what, group.name, size, group.size));
    }
  }
  for (Index i = 0; i < target.size(); ++i) target(i) = Real(values[std::size_t(i)]);
}

H5::Group open_run(H5::H5File& file, const std::string& path, const std::string& run) {
  if (!file.nameExists("runs")) throw UsageError(fmt::format("'{}' is not a gradest run file (no /runs group)", path));
  H5::Group runs = file.openGroup("runs");
  if (!run.empty()) {
    if (!runs.nameExists(run)) throw UsageError(fmt::format("'{}' has no run '{}'", path, run));
    return runs.openGroup(run);
  }
  if (runs.getNumObjs() != 1)
    throw UsageError(fmt::format("'{}' holds {} runs; name one with --run (or --init-run)", path, runs.getNumObjs()));
  return runs.openGroup(runs.getObjnameByIdx(0));
}

std::unique_ptr<Vae> load_model(const H5::Group& run_group, TrainConfig* config_out) {
  if (!run_group.attrExists("config")) throw UsageError("the run group has no 'config' attribute (not a gradest training run)");
  TrainConfig config = parse_config_text(h5::read_string_attribute(run_group, "config"));
  config.resolve();
  if (!run_group.nameExists("params")) throw UsageError("the run has no saved parameters (params/)");
  H5::Group params = run_group.openGroup("params");
  std::int64_t input_dim = 0;
  params.openAttribute("input_dim").read(H5::PredType::NATIVE_INT64, &input_dim);
  VectorD mean;
  if (params.nameExists("input_mean")) {
    const auto m = h5::read_vector(params, "input_mean");
    mean = Eigen::Map<const VectorD>(m.data(), Index(m.size()));
  }
  TrainConfig for_model = config;
  for_model.output_bias_init = false;  // the saved parameters hold the trained bias
  VaeConfig vc = vae_config(for_model, int(input_dim), mean);
  Rng unused(0);
  auto vae = Vae::make(vc, unused);
  load_parameters(run_group, *vae, "the run");
  if (config_out) *config_out = config;
  return vae;
}

// ---- evaluation -------------------------------------------------------------------------------------

Evaluation evaluate(Vae& vae, const Matrix& x, int iwae_samples, bool count_active_units, Rng& rng) {
  Evaluation out;
  const Index n = x.rows(), k = vae.latents();
  const Index chunk = iwae_samples > 0 ? std::max<Index>(1, 8192 / iwae_samples) : 1000;
  StochasticNode node;
  Matrix xc, kl, z, noise;
  Vector value, log_q;
  double recon = 0, kl_sum = 0, iwae = 0;
  VectorD mean_sum = VectorD::Zero(k), mean_sq = VectorD::Zero(k);
  const double log_k = std::log(double(std::max(iwae_samples, 1)));
  for (Index first = 0; first < n; first += chunk) {
    const Index B = std::min(chunk, n - first);
    xc = x.middleRows(first, B);
    vae.encode(Network::kInferenceSlot, xc, node);
    vae.kl(node, kl);
    kl_sum += kl.cast<double>().sum();
    sample_node(node, 1, rng, z, noise);
    vae.objective(xc, Objective::Terms::likelihood).evaluate(0, z, value);
    recon += value.cast<double>().sum();
    if (iwae_samples > 0) {
      sample_node(node, iwae_samples, rng, z, noise);
      vae.objective(xc, Objective::Terms::joint).evaluate(0, z, value);
      log_prob(node, z, log_q);
      for (Index b = 0; b < B; ++b) {
        double max_w = -std::numeric_limits<double>::infinity();
        for (int s = 0; s < iwae_samples; ++s) max_w = std::max(max_w, double(value(s * B + b)) - double(log_q(s * B + b)));
        double sum = 0;
        for (int s = 0; s < iwae_samples; ++s) sum += std::exp(double(value(s * B + b)) - double(log_q(s * B + b)) - max_w);
        iwae += max_w + std::log(sum) - log_k;
      }
    }
    if (count_active_units) {
      for (Index j = 0; j < k; ++j)
        for (Index b = 0; b < B; ++b) {
          const double m = node.kind == LatentKind::gaussian ? double(node.mean(b, j)) : double(sigmoid(node.logits(b, j)));
          mean_sum(j) += m;
          mean_sq(j) += m * m;
        }
    }
  }
  out.recon = recon / double(n);
  out.kl = kl_sum / double(n);
  out.elbo = out.recon - out.kl;
  if (iwae_samples > 0) out.iwae = iwae / double(n);
  if (count_active_units && n > 1)
    for (Index j = 0; j < k; ++j) {
      const double variance = (mean_sq(j) - mean_sum(j) * mean_sum(j) / double(n)) / double(n - 1);
      if (variance > 0.01) ++out.active_units;
    }
  return out;
}

// ---- the loop ----------------------------------------------------------------------------------------

bool EvalRecord::finite() const {
  return std::isfinite(train_elbo) && std::isfinite(test_elbo) && (std::isfinite(test_iwae) || std::isnan(test_iwae)) &&
         std::isfinite(recon) && std::isfinite(kl);
}

std::string_view to_string(RunStatus status) {
  switch (status) {
    case RunStatus::completed: return "completed";
    case RunStatus::diverged: return "diverged";
    case RunStatus::interrupted: return "interrupted";
  }
  return "?";
}

namespace {

// Stream ids of the run's purposes.
const std::uint64_t kInitStream = stable_hash("init");
const std::uint64_t kEpochStream = stable_hash("epoch");
const std::uint64_t kBinarizeStream = stable_hash("binarize");
const std::uint64_t kEstimateStream = stable_hash("estimate");
const std::uint64_t kEvalStream = stable_hash("eval");
const std::uint64_t kEvalDataStream = stable_hash("eval-data");


void write_config_attributes(H5::Group& group, const TrainConfig& config) {
  for (const auto& key : config_keys()) {
    std::string name(key.name);
    std::replace(name.begin(), name.end(), '-', '_');
    const std::string value = key.get(config);
    if (key.type == ConfigKey::Type::integer && value != "default")
      h5::write_attribute(group, name, std::int64_t(std::stoll(value)));
    else if (key.type == ConfigKey::Type::real && value != "default")
      h5::write_attribute(group, name, std::stod(value));
    else
      h5::write_attribute(group, name, value);
  }
  h5::write_attribute(group, "config", config_text(config));
}

void write_parameters(H5::Group& run_group, Vae& vae) {
  if (run_group.nameExists("params")) run_group.unlink("params");
  H5::Group params = run_group.createGroup("params");
  const Vector& values = vae.parameters().values();
  h5::write_array(params, "values", {hsize_t(values.size())}, values.data());
  h5::write_attribute(params, "input_dim", std::int64_t(vae.input_dim()));
  h5::write_attribute(params, "latents", std::int64_t(vae.latents()));
  for (const auto& g : vae.parameters().groups()) {
    h5::write_attribute(params, g.name + "_offset", std::int64_t(g.offset));
    h5::write_attribute(params, g.name + "_size", std::int64_t(g.size));
  }
  if (vae.config().centre_input) {
    const Vector& mean = vae.config().input_mean;
    h5::write_array(params, "input_mean", {hsize_t(mean.size())}, mean.data());
  }
}

void flush(H5::Group& group) { H5Fflush(group.getId(), H5F_SCOPE_GLOBAL); }

struct Trace {
  explicit Trace(H5::Group& run_group) : group(run_group.createGroup("trace")) {
    for (const char* name : {"step", "train_elbo", "test_elbo", "test_iwae", "recon", "kl", "active_units", "wall_time",
                             "steps_per_second", "baseline_loss", "baseline_explained_variance"})
      series.emplace_back(group, name);
  }
  // Estimator diagnostics (learned baselines): at the estimate of the last training step, NaN for
  // estimators without a baseline.
  void append(const EvalRecord& r, const EstimatorDiagnostics& d) {
    const double row[] = {double(r.step), r.train_elbo, r.test_elbo, r.test_iwae, r.recon, r.kl, r.active_units,
                          r.wall_time, r.steps_per_second, d.baseline_loss, d.explained_variance};
    for (std::size_t i = 0; i < series.size(); ++i) series[i].append(row[i]);
  }
  H5::Group group;
  std::vector<h5::Series> series;
};

Matrix eval_matrix(const data::Dataset& set, Index count, const TrainConfig& config, std::uint64_t id) {
  Matrix x;
  set.rows(0, std::min(count, set.size()), x);
  Rng rng = Rng::stream(config.seed, {kEvalDataStream, id});
  data::binarize(x, config.binarize, rng);
  return x;
}

}  // namespace

double kl_weight(const TrainConfig& c, std::int64_t step) {
  if (step < c.warmup_steps) return 0.0;
  const double u = double(step - c.warmup_steps);
  const double remaining = double(std::max<std::int64_t>(1, c.steps - c.warmup_steps));
  switch (c.annealing) {
    case Annealing::none: return c.beta;
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

TrainResult run_training(const TrainConfig& config, H5::Group& run_group, const TrainHooks& hooks) {
  const data::DataSplits data = load_data(config);
  return run_training(config, data, run_group, hooks);
}

TrainResult run_training(const TrainConfig& config, const data::DataSplits& data, H5::Group& run_group,
                         const TrainHooks& hooks) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto seconds_since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };

  // Attributes first: a run cut off at any point says what it was.
  write_config_attributes(run_group, config);
  h5::write_attribute(run_group, "run_id", run_id(config));
  h5::write_attribute(run_group, "gradest_version", std::string(kVersion));
  h5::write_attribute(run_group, "git_commit", std::string(kGitCommit));
  h5::write_attribute(run_group, "seed", std::int64_t(config.seed));
  h5::write_attribute(run_group, "data_source", data.source);
  h5::write_attribute(run_group, "data_path", data.path);
  h5::write_attribute(run_group, "status", std::string("running"));
  h5::write_attribute(run_group, "steps_completed", std::int64_t(0));
  if (data.truth) {
    h5::write_attribute(run_group, "true_log_likelihood_train", data.truth->train_log_likelihood);
    h5::write_attribute(run_group, "true_log_likelihood_test", data.truth->test_log_likelihood);
    H5::Group truth = run_group.createGroup("truth");
    h5::write_array(truth, "values", {hsize_t(data.truth->parameters.size())}, data.truth->parameters.data());
  }

  // Model, estimator, optimisers.
  Rng init_rng = Rng::stream(config.seed, {kInitStream});
  auto vae = Vae::make(make_vae_config(config, data), init_rng);
  if (!config.init_from.empty()) {
    H5::H5File file;
    try {
      file = H5::H5File(config.init_from, H5F_ACC_RDONLY);
    } catch (const H5::Exception&) {
      throw UsageError(fmt::format("--init-from '{}': cannot open it as an HDF5 file", config.init_from));
    }
    H5::Group source = open_run(file, config.init_from, config.init_run);
    load_parameters(source, *vae, fmt::format("--init-from '{}'", config.init_from));
  }
  std::string error;
  auto estimator = make_estimator(config.estimator, config.estimator_options, config.model, &error);
  if (!estimator) throw UsageError(error);
  const bool bound = estimator->info().target == Target::importance_bound;
  const Objective::Terms terms = bound ? Objective::Terms::joint : Objective::Terms::likelihood;

  GroupOptimizer optimizer;
  for (const auto& g : vae->parameters().groups()) {
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

  // Evaluation data, binarized once.
  const Matrix eval_train = eval_matrix(data.train, config.eval_train_subset, config, 0);
  const Matrix eval_test =
      eval_matrix(data.test, config.eval_subset > 0 ? config.eval_subset : data.test.size(), config, 1);

  Trace trace(run_group);
  TrainResult result;
  EvalRecord latest;
  double train_seconds_since_eval = 0;
  std::int64_t steps_since_eval = 0;

  auto diverge = [&](std::int64_t step, std::string reason) {
    result.status = RunStatus::diverged;
    result.diverged_step = step;
    result.divergence_reason = std::move(reason);
  };

  auto run_eval = [&](std::int64_t step) {
    EvalRecord r;
    r.step = step;
    Rng rng = Rng::stream(config.seed, {kEvalStream, std::uint64_t(step)});
    const Evaluation train_eval = evaluate(*vae, eval_train, 0, false, rng);
    const Evaluation test_eval = evaluate(*vae, eval_test, config.iwae_samples, true, rng);
    r.train_elbo = train_eval.elbo;
    r.test_elbo = test_eval.elbo;
    r.test_iwae = test_eval.iwae;
    r.recon = test_eval.recon;
    r.kl = test_eval.kl;
    r.active_units = test_eval.active_units;
    r.wall_time = seconds_since(start);
    r.steps_per_second = steps_since_eval > 0 ? double(steps_since_eval) / train_seconds_since_eval
                                              : std::numeric_limits<double>::quiet_NaN();
    steps_since_eval = 0;
    train_seconds_since_eval = 0;
    trace.append(r, estimator->diagnostics());
    h5::write_attribute(run_group, "steps_completed", std::int64_t(step));
    flush(run_group);
    latest = r;
    if (r.finite()) result.last = r;
    else diverge(step, "non-finite evaluated bound (ELBO, KL or IWAE)");
    if (hooks.on_eval) hooks.on_eval(r);
  };

  auto call_hook = [&](std::int64_t step) {
    if (!hooks.at_step) return;
    StepContext context{step, config, *vae, *estimator, data, run_group};
    hooks.at_step(context);
  };

  // Minibatches: shuffled epochs.
  const Index n_train = data.train.size();
  const std::int64_t per_epoch = std::max<std::int64_t>(1, n_train / config.batch);
  std::vector<Index> permutation(static_cast<std::size_t>(n_train));
  std::int64_t current_epoch = -1;

  Matrix x, kl, kl_weights;
  StochasticNode node;
  NodeGradient node_grad;
  const Real inv_batch = Real(1) / Real(config.batch);

  run_eval(0);
  if (hooks.hook_every > 0) call_hook(0);
  std::int64_t step = 0;
  while (step < config.steps && result.status == RunStatus::completed) {
    if (hooks.stop && hooks.stop->load()) {
      result.status = RunStatus::interrupted;
      break;
    }
    const auto step_start = Clock::now();
    const std::int64_t epoch = step / per_epoch;
    if (epoch != current_epoch) {
      std::iota(permutation.begin(), permutation.end(), Index(0));
      Rng rng = Rng::stream(config.seed, {kEpochStream, std::uint64_t(epoch)});
      for (Index i = n_train - 1; i > 0; --i) {
        const Index j = Index(rng.uniform() * double(i + 1));
        std::swap(permutation[std::size_t(i)], permutation[std::size_t(std::min(j, i))]);
      }
      current_epoch = epoch;
    }
    const std::size_t offset = std::size_t((step % per_epoch) * config.batch);
    data.train.gather(std::span<const Index>(permutation.data() + offset, std::size_t(config.batch)), x);
    Rng binarize_rng = Rng::stream(config.seed, {kBinarizeStream, std::uint64_t(step)});
    data::binarize(x, config.binarize, binarize_rng);

    vae->zero_gradient();
    vae->encode(x, node);
    node_grad.reset_like(node);
    Rng rng = Rng::stream(config.seed, {kEstimateStream, std::uint64_t(step)});
    Objective& objective = vae->objective(x, terms);
    estimator->estimate(node, objective, rng, node_grad);
    if (!bound) {
      vae->kl(node, kl);
      if (!all_finite(kl)) {
        diverge(step, "non-finite KL");
        break;
      }
      const double beta = kl_weight(config, step);
      kl_weights.setConstant(kl.rows(), kl.cols(), Real(beta));
      if (config.free_bits > 0) {
        for (Index j = 0; j < kl.cols(); ++j)
          if (kl.col(j).cast<double>().mean() < config.free_bits) kl_weights.col(j).setZero();
      }
      if (beta > 0) vae->kl_backward(node, kl_weights, node_grad);
    }
    vae->encode_backward(node_grad);
    // The optimiser applies the 1/B (per-example figures) inside its update; scaling a finite
    // gradient by 1/B keeps it finite, so the check is on the batch sum.
    if (!all_finite(vae->gradient())) {
      diverge(step, "non-finite gradient");
      break;
    }
    optimizer.step(vae->parameters().values(), vae->gradient(), inv_batch);
    estimator->learn(rng);
    ++step;
    if (!all_finite(vae->parameters().values())) {
      diverge(step, "non-finite parameter after the update");
      break;
    }
    train_seconds_since_eval += seconds_since(step_start);
    ++steps_since_eval;
    if (hooks.progress)
      hooks.progress(step, double(steps_since_eval) / std::max(train_seconds_since_eval, 1e-9), latest);
    if (step % config.eval_every == 0 || step == config.steps) run_eval(step);
    if (result.status == RunStatus::completed && hooks.hook_every > 0 &&
        (step % hooks.hook_every == 0 || step == config.steps))
      call_hook(step);
  }
  result.steps_completed = step;

  // Final full-test-set evaluation (when the trace used a subset).
  if (result.status == RunStatus::completed && config.final_eval_full) {
    // When the trace already evaluated the whole test set at the last step, its row is the final one.
    const bool subset = eval_test.rows() < data.test.size();
    const Matrix full_test = subset ? eval_matrix(data.test, data.test.size(), config, 1) : Matrix();
    Evaluation final_eval;
    if (subset) {
      Rng rng = Rng::stream(config.seed, {kEvalStream, stable_hash("final")});
      final_eval = evaluate(*vae, full_test, config.iwae_samples, true, rng);
    } else {
      final_eval = {latest.test_elbo, latest.recon, latest.kl, latest.test_iwae, int(latest.active_units)};
    }
    h5::write_attribute(run_group, "final_test_elbo", final_eval.elbo);
    h5::write_attribute(run_group, "final_test_iwae", final_eval.iwae);
    h5::write_attribute(run_group, "final_recon", final_eval.recon);
    h5::write_attribute(run_group, "final_kl", final_eval.kl);
    h5::write_attribute(run_group, "final_active_units", std::int64_t(final_eval.active_units));
    h5::write_attribute(run_group, "final_test_examples", std::int64_t(data.test.size()));
    result.has_final = true;
    result.final_eval = {final_eval.elbo, final_eval.iwae, final_eval.recon, final_eval.kl, final_eval.active_units,
                         std::int64_t(data.test.size())};
  }

  write_parameters(run_group, *vae);
  h5::write_attribute(run_group, "status", std::string(to_string(result.status)));
  h5::write_attribute(run_group, "steps_completed", std::int64_t(result.steps_completed));
  if (result.status == RunStatus::diverged) {
    h5::write_attribute(run_group, "diverged_step", std::int64_t(result.diverged_step));
    h5::write_attribute(run_group, "divergence_reason", result.divergence_reason);
    h5::write_attribute(run_group, "last_finite_step", std::int64_t(result.last.step));
    h5::write_attribute(run_group, "last_finite_test_elbo", result.last.test_elbo);
  }
  result.seconds = seconds_since(start);
  h5::write_attribute(run_group, "seconds", result.seconds);
  flush(run_group);
  return result;
}

}  // namespace gradest::train
