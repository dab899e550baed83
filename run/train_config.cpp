#include "run/train_config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "core/errors.hpp"
#include "core/text.hpp"
#include "models/distributions.hpp"
#include "models/latent_family.hpp"

namespace gradest::train {

// ---- configuration ---------------------------------------------------------------------------------

namespace {


[[noreturn]] void bad_value(std::string_view key, const std::string& value, std::string_view allowed) {
  throw ConfigError(fmt::format("option '--{}': invalid value '{}'; allowed: {}", key, value, allowed));
}

std::int64_t parse_integer(std::string_view key, const std::string& value) {
  const auto list = text::parse_int_list(value, key);
  if (list.size() != 1) bad_value(key, value, "one integer");
  return list.front();
}

double parse_real(std::string_view key, const std::string& value) {
  const auto list = text::parse_real_list(value, key);
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
  for (const auto& item : text::split(value, ',')) {
    std::int64_t h = 0;
    try {
      h = parse_integer(key, item);
    } catch (const ConfigError&) {
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

std::string model_names() {
  std::string out;
  for (const auto& m : vae_models()) out += (out.empty() ? "" : ", ") + std::string(m.name);
  return out;
}

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

// Every option of a training run but the estimators' options, which estimator_option_key() makes
// from their declarations and inserts after "estimator". Order = the order of config_text and of
// HDF5 attributes.
const std::vector<ConfigKey> kTableKeys = {
    {"model", "bernoulli-vae | gaussian-vae | categorical-vae", T::string, true,
     [](const TrainConfig& c) { return std::string(vae_model(c.model).name); },
     [](TrainConfig& c, const std::string& v) {
       const VaeModel* model = find_vae_model(v);
       if (!model) bad_value("model", v, model_names());
       c.model = model->latent;
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
    {"latent-categories", "values C of each categorical latent (categorical-vae): an integer >= 2", T::integer, true,
     [](const TrainConfig& c) { return std::to_string(c.latent_categories); },
     [](TrainConfig& c, const std::string& v) { c.latent_categories = int_in_range("latent-categories", v); },
     [](const TrainConfig& c) { return c.model == LatentKind::categorical; }},
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

ConfigKey::Type key_type(OptionType type) {
  switch (type) {
    case OptionType::integer: return T::integer;
    case OptionType::real: return T::real;
    case OptionType::boolean:
    case OptionType::integer_list: return T::string;
  }
  return T::string;
}

// "gumbel-softmax: relaxation temperature tau (...); > 0"; samples, everyone's, names no estimator.
std::string option_help(const DeclaredOption& declared) {
  const OptionSpec& spec = *declared.spec;
  if (&spec == &kSamplesOption) return fmt::format("{}; {}", spec.help, allowed_text(spec));
  return fmt::format("{}: {}; {}", fmt::join(declared.estimators, ", "), spec.help, allowed_text(spec));
}

ConfigKey estimator_option_key(const DeclaredOption& declared) {
  const OptionSpec* spec = declared.spec;
  ConfigKey key{spec->name, option_help(declared), key_type(spec->type), true,
                [spec](const TrainConfig& c) { return c.estimator_options.text(*spec); },
                [spec](TrainConfig& c, const std::string& v) { c.estimator_options.set_text(*spec, v); }};
  if (!declared.recorded)
    key.applies = [names = declared.estimators](const TrainConfig& c) {
      return std::find(names.begin(), names.end(), c.estimator) != names.end();
    };
  return key;
}

const std::vector<ConfigKey>& keys() {
  static const std::vector<ConfigKey> kKeys = config_keys(declared_options());
  return kKeys;
}

std::string key_names() {
  std::string out;
  for (const auto& k : keys()) out += (out.empty() ? "" : ", ") + std::string(k.name);
  return out;
}

}  // namespace

std::vector<ConfigKey> config_keys(std::span<const DeclaredOption> estimator_options) {
  std::vector<ConfigKey> out;
  for (const auto& key : kTableKeys) {
    out.push_back(key);
    if (key.name == "estimator")
      for (const auto& declared : estimator_options) out.push_back(estimator_option_key(declared));
  }
  return out;
}

std::span<const ConfigKey> config_keys() { return keys(); }

const ConfigKey* find_config_key(std::string_view name) {
  for (const auto& k : keys())
    if (k.name == name) return &k;
  return nullptr;
}

void set_config_value(TrainConfig& config, std::string_view key, const std::string& value) {
  const ConfigKey* k = find_config_key(key);
  if (!k) throw ConfigError(fmt::format("unknown option '{}'; allowed: {}", key, key_names()));
  k->set(config, text::trim(value));
}

std::string config_text(const TrainConfig& config) {
  std::string out;
  for (const auto& k : keys())
    if (!k.applies || k.applies(config)) out += fmt::format("{} = {}\n", k.name, k.get(config));
  return out;
}

TrainConfig parse_config_text(const std::string& text) {
  TrainConfig config;
  for (const auto& line : text::split(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) throw ConfigError(fmt::format("configuration line '{}' is not 'key = value'", line));
    set_config_value(config, text::trim(line.substr(0, eq)), text::trim(line.substr(eq + 1)));
  }
  return config;
}

namespace {
// One VAE per latent family.
constexpr VaeModel kVaeModels[] = {
    {LatentKind::bernoulli, "bernoulli-vae", 200, "reinforce"},
    {LatentKind::gaussian, "gaussian-vae", 20, "pathwise"},
    {LatentKind::categorical, "categorical-vae", 20, "reinforce"},
};
}  // namespace

std::span<const VaeModel> vae_models() { return kVaeModels; }

const VaeModel* find_vae_model(std::string_view name) {
  for (const auto& m : kVaeModels)
    if (m.name == name) return &m;
  return nullptr;
}

const VaeModel& vae_model(LatentKind latent) {
  for (const auto& m : kVaeModels)
    if (m.latent == latent) return m;
  throw std::logic_error("no VAE for this latent family");
}

std::string run_id(const TrainConfig& resolved) {
  std::string text;
  for (const auto& k : keys())
    if (k.in_run_id && (!k.applies || k.applies(resolved))) text += fmt::format("{} = {}\n", k.name, k.get(resolved));
  return fmt::format("{:016x}", stable_hash(text));
}

void TrainConfig::resolve() {
  if (!latents) latents = vae_model(model).default_latents;
  if (!decoder) decoder = std::vector<int>(encoder.rbegin(), encoder.rend());
  if (estimator.empty()) estimator = vae_model(model).default_estimator;
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
  if (model == LatentKind::categorical && latent_categories < 2)
    return fail(fmt::format("--latent-categories must be >= 2, got {}", latent_categories));
  if (likelihood == Likelihood::categorical && categories < 2)
    return fail(fmt::format("--categories must be >= 2, got {}", categories));
  if (likelihood == Likelihood::categorical && binarize != data::Binarize::none)
    return fail("the categorical likelihood needs --binarize none (the data are symbol ids)");
  if (signed_latent_input && !latent_family(model, std::max(latent_categories, 2)).binary())
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
  const std::string name = estimator.empty() ? std::string(vae_model(model).default_estimator) : estimator;
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

}  // namespace gradest::train
