#include "run/train.hpp"
#include "models/latent_family.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "core/errors.hpp"
#include "core/text.hpp"
#include "store/h5io.hpp"
#include "core/limits.hpp"
#include "models/distributions.hpp"

namespace gradest::train {

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
  vc.latents = config.latents.value_or(vae_model(config.model).default_latents);
  vc.latent_categories = config.latent_categories;
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

namespace {
std::string layers_text(const std::vector<int>& hidden) {
  return hidden.empty() ? std::string("linear") : fmt::format("{}", fmt::join(hidden, ","));
}
}  // namespace

static std::string memory_problem(const TrainConfig& resolved, const VaeConfig& vc) {
  // At least: parameters with gradient and two optimiser moments; one step's activations and
  // their gradients (batch x samples rows through the widest layer); one evaluation chunk (8192
  // rows, or K rows when K > 8192) through the widest layer, forward and its samples.
  const double real = sizeof(Real), width = vc.widest_layer();
  const double eval_rows = std::max(8192.0, double(resolved.iwae_samples));
  const std::string sizes = fmt::format("--latents {}{}, --encoder {}, --decoder {}", vc.latents,
                                        vc.latent == LatentKind::categorical
                                            ? fmt::format(", --latent-categories {}", vc.latent_categories)
                                            : std::string(),
                                        layers_text(vc.encoder.hidden), layers_text(vc.decoder.hidden));
  const char* size_options = "--latents, --latent-categories, --encoder or --decoder";
  struct Term {
    std::string subject, what;
    double bytes;
    const char* options;
  };
  const Term terms[] = {
      {sizes, fmt::format("the model's {:.4g} parameters with their gradient and optimiser state", vc.parameter_count()),
       4 * real * vc.parameter_count(), size_options},
      {fmt::format("--batch {}, --samples {}", resolved.batch, resolved.estimator_options.samples),
       fmt::format("one training step's activations through the widest layer ({:.0f} units)", width),
       4 * real * width * double(resolved.batch) * std::max(1, resolved.estimator_options.samples),
       "--batch or --samples"},
      resolved.iwae_samples > 8192
          ? Term{fmt::format("--iwae-samples {}", resolved.iwae_samples), "the evaluation of the K-sample bound",
                 2 * real * width * eval_rows, "--iwae-samples"}
          : Term{sizes, fmt::format("an evaluation chunk of 8192 rows through the widest layer ({:.0f} units)", width),
                 2 * real * width * eval_rows, size_options}};
  double total = 0;
  const Term* largest = &terms[0];
  for (const auto& t : terms) {
    total += t.bytes;
    if (t.bytes > largest->bytes) largest = &t;
  }
  return limits::memory_shortfall(largest->subject, largest->what + ", with the rest of the run,", total,
                                  largest->options);
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
  if (auto problem = memory_problem(resolved, vc); !problem.empty()) return fail(problem);
  return true;
}

namespace {
// A corrupted record must not make gradest allocate a huge model: each weight matrix of the
// recorded layout (widths of consecutive layers) is part of the parameters, so it cannot hold more
// values than the file stores. The exact count is compared once the model is built.
void check_model_fits(const VaeConfig& vc, hsize_t stored, const std::string& where) {
  const LatentFamily& family = vc.family();
  std::vector<double> encoder = {double(vc.input_dim)}, decoder = {double(family.sample_columns(vc.latents))};
  for (int h : vc.encoder.hidden) encoder.push_back(h);
  encoder.push_back(double(family.encoder_outputs(vc.latents)));
  for (int h : vc.decoder.hidden) decoder.push_back(h);
  decoder.push_back(double(vc.decoder_outputs()));
  for (const auto* widths : {&encoder, &decoder})
    for (std::size_t i = 0; i + 1 < widths->size(); ++i)
      if ((*widths)[i] * (*widths)[i + 1] > double(stored))
        throw InputError(fmt::format("{}: the recorded model (input dimension {}, {} latents) cannot fit the {} "
                                     "parameters stored; corrupted or not written by gradest",
                                     where, vc.input_dim, vc.latents, stored));
}
}  // namespace

TrainConfig recorded_config(const H5::Group& run_group) {
  const std::string where = fmt::format("'{}': run {}", h5::file_name(run_group), h5::object_path(run_group));
  if (!h5::exists_attribute(run_group, "config"))
    throw InputError(where + " has no 'config' attribute (not a gradest training run)");
  const std::string text = h5::read_string_attribute(run_group, "config");
  if (text.find("model =") == std::string::npos)
    throw InputError(where + ": the recorded configuration (attribute config) names no model; corrupted or not "
                             "written by gradest train");
  try {
    return parse_config_text(text);
  } catch (const ConfigError& e) {
    throw InputError(fmt::format("{}: the recorded configuration is unreadable ({}); corrupted?", where, e.what()));
  }
}

std::unique_ptr<Vae> load_model(const H5::Group& run_group, TrainConfig* config_out) {
  const std::string where = fmt::format("'{}': run {}", h5::file_name(run_group), h5::object_path(run_group));
  TrainConfig config = recorded_config(run_group);
  config.resolve();
  if (!h5::exists(run_group, "params/values")) throw InputError(where + " has no saved parameters (params/values)");
  const H5::Group params = h5::open_group(run_group, "params");
  const std::int64_t input_dim = h5::read_int_attribute(params, "input_dim");
  const hsize_t stored = h5::checked_points(h5::open_dataset(params, "values"), sizeof(double));
  if (input_dim < 1 || hsize_t(input_dim) > stored)
    throw InputError(fmt::format("{}: params@input_dim {} is out of range (1 to the {} parameters stored)", where,
                                 input_dim, stored));
  VectorD mean;
  if (h5::exists(params, "input_mean")) {
    const auto m = h5::read_vector(params, "input_mean");
    mean = Eigen::Map<const VectorD>(m.data(), Index(m.size()));
  }
  TrainConfig for_model = config;
  for_model.output_bias_init = false;  // the saved parameters hold the trained bias
  const VaeConfig vc = vae_config(for_model, int(input_dim), mean);
  if (std::string error; !vc.valid(&error)) throw InputError(fmt::format("{}: the recorded model is invalid: {}", where, error));
  check_model_fits(vc, stored, where);
  // The recorded sizes are the file's word: checked like the command line's before allocation.
  if (auto problem = memory_problem(config, vc); !problem.empty())
    throw InputError(fmt::format("{}: the recorded model: {}", where, problem));
  Rng unused(0);
  auto vae = Vae::make(vc, unused);
  h5::load_parameters(run_group, *vae, where);
  if (config_out) *config_out = config;
  return vae;
}

// ---- evaluation -------------------------------------------------------------------------------------

Evaluation evaluate(Vae& vae, const Matrix& x, int iwae_samples, bool count_active_units, Rng& rng) {
  Evaluation out;
  const Index n = x.rows(), k = vae.latents();
  const Index chunk = iwae_samples > 0 ? std::max<Index>(1, 8192 / iwae_samples) : 1000;
  StochasticNode node;
  Matrix xc, kl, z, noise, posterior_mean;
  Vector value, log_q;
  double recon = 0, kl_sum = 0, iwae = 0;
  // E_q[z] has `columns` columns: one per latent, or C per categorical latent (a latent is active
  // when the variances of its columns add up to more than 0.01).
  const Index columns = vae.config().family().sample_columns(k);
  VectorD mean_sum = VectorD::Zero(columns), mean_sq = VectorD::Zero(columns);
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
      node.family->posterior_mean(node, posterior_mean);
      for (Index j = 0; j < columns; ++j)
        for (Index b = 0; b < B; ++b) {
          const double m = double(posterior_mean(b, j));
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
      double variance = 0;
      for (Index c = j * (columns / k); c < (j + 1) * (columns / k); ++c)
        variance += (mean_sq(c) - mean_sum(c) * mean_sum(c) / double(n)) / double(n - 1);
      if (variance > 0.01) ++out.active_units;
    }
  return out;
}

}  // namespace gradest::train
