// gradest encode | reconstruct | sample: uses of a trained model saved by `gradest train`.
//
//   encode:      /encode/{index [N] int64, mean [N x k], log_var [N x k] (gaussian) or
//                probability [N x k] (bernoulli: q(z_j = 1 | x)), samples [S x N x k] when --samples S}
//   reconstruct: /reconstruct/{index [N], input [N x D] (as the model saw it, binarized per the run),
//                mean [N x D] (decoder mean at one z ~ q(z|x))}
//   sample:      /sample/{z [N x k] ~ p(z), mean [N x D] (decoder mean), x [N x D] ~ p(x|z)}
// Every group has the attributes run_id, source (the run file) and, for 784-pixel data,
// image_shape "28,28". Data (encode, reconstruct) are the run's own data source and split.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "core/limits.hpp"
#include "models/latent_family.hpp"
#include "store/h5io.hpp"
#include "run/train.hpp"
#include "models/distributions.hpp"

namespace gradest::cli {

namespace {

struct Loaded {
  train::TrainConfig config;
  std::unique_ptr<Vae> vae;
  std::string run_id;
};

Loaded load_run(const std::string& path, const std::string& run) {
  H5::H5File file = h5::open_run_file(path, "--from");
  H5::Group group = h5::open_run(file, path, run);
  Loaded out;
  out.vae = train::load_model(group, &out.config);
  out.run_id = h5::exists_attribute(group, "run_id") ? h5::read_string_attribute(group, "run_id") : run;
  return out;
}

void add_common_options(po::options_description& options) {
  options.add_options()("from", po::value<std::string>(), "run file written by gradest train (required)")(
      "run", po::value<std::string>()->default_value(""), "run id inside --from (if it holds several)")(
      "count", po::value<std::int64_t>()->default_value(64), "number of examples or samples")(
      "seed", po::value<std::int64_t>()->default_value(1), "seed of the draws")(
      "out,o", po::value<std::string>(), "output HDF5 file (required)")("force", "overwrite an existing output file");
}

struct Common {
  std::string from, run, out;
  std::int64_t count = 0;
  std::uint64_t seed = 0;
  bool force = false;
};

Common common(const po::variables_map& vm) {
  Common c;
  if (!vm.count("from")) throw UsageError("--from is required: a run file written by gradest train");
  if (!vm.count("out")) throw UsageError("--out is required: the HDF5 file to write");
  c.from = vm["from"].as<std::string>();
  c.run = vm["run"].as<std::string>();
  c.out = vm["out"].as<std::string>();
  c.count = vm["count"].as<std::int64_t>();
  if (c.count < 1) throw UsageError(fmt::format("--count must be >= 1, got {}", c.count));
  const auto seed = vm["seed"].as<std::int64_t>();
  if (seed < 0) throw UsageError(fmt::format("--seed must be >= 0, got {}", seed));
  c.seed = std::uint64_t(seed);
  c.force = vm.count("force") > 0;
  h5::check_output_path(c.out, c.force);
  return c;
}

void write_real_matrix(H5::Group& group, const std::string& name, const Matrix& m) {
  h5::write_matrix(group, name, m.cast<double>());
}

void annotate(H5::Group& group, const Loaded& loaded, const Common& c) {
  h5::write_attribute(group, "run_id", loaded.run_id);
  h5::write_attribute(group, "source", c.from);
  if (loaded.vae->input_dim() == 784) h5::write_attribute(group, "image_shape", std::string("28,28"));
}

// The first `count` examples of the run's data split, binarized as in training (fixed stream).
Matrix data_rows(const train::TrainConfig& config, const std::string& split, std::int64_t count, std::uint64_t seed,
                 const std::string& data_dir) {
  train::TrainConfig for_data = config;
  if (!data_dir.empty()) for_data.data_dir = data_dir;
  const data::DataSplits data = train::load_data(for_data);
  const data::Dataset* set = split == "train" ? &data.train : split == "test" ? &data.test : &data.validation;
  if (split != "train" && split != "test" && split != "validation")
    throw UsageError(fmt::format("--split: invalid value '{}'; allowed: train, validation, test", split));
  if (set->empty()) throw UsageError(fmt::format("the run's data have no '{}' split", split));
  Matrix x;
  set->rows(0, std::min<Index>(count, set->size()), x);
  Rng rng = Rng::stream(seed, {stable_hash("data-binarize")});
  data::binarize(x, config.binarize, rng);
  return x;
}

void add_data_options(po::options_description& options) {
  options.add_options()("split", po::value<std::string>()->default_value("test"), "train | validation | test")(
      "data-dir", po::value<std::string>()->default_value(""), "override the run's Fashion-MNIST directory");
}

}  // namespace

int run_encode(const std::vector<std::string>& args, const Context& context) {
  po::options_description options("encode options");
  add_common_options(options);
  add_data_options(options);
  options.add_options()("samples", po::value<int>()->default_value(0), "also draw S samples z ~ q(z|x) per example");
  po::variables_map vm;
  if (!parse(args, options, nullptr, vm)) {
    print_help("encode", "--from run.h5 --out codes.h5 [options]", options);
    return 0;
  }
  const Common c = common(vm);
  const int samples = vm["samples"].as<int>();
  if (samples < 0) throw UsageError(fmt::format("--samples must be >= 0, got {}", samples));
  Loaded loaded = load_run(c.from, c.run);
  const Matrix x = data_rows(loaded.config, vm["split"].as<std::string>(), c.count, c.seed, vm["data-dir"].as<std::string>());
  // z, its noise and the float copy written to the file.
  const VaeConfig& vc = loaded.vae->config();
  limits::require_memory(fmt::format("--samples {} for {} examples", samples, x.rows()), "the samples", 12.0 *
                         double(samples) * double(x.rows()) * double(vc.family().sample_columns(vc.latents)),
                         "--samples or --count");
  StochasticNode node;
  loaded.vae->encode(Network::kInferenceSlot, x, node);
  h5::OutputFile file(c.out, c.force, {context.command_line, c.seed, train::config_text(loaded.config)});
  H5::Group group = h5::ensure_group(file.file(), "/encode");
  annotate(group, loaded, c);
  h5::write_attribute(group, "split", vm["split"].as<std::string>());
  std::vector<std::int64_t> index(std::size_t(x.rows()));
  for (std::size_t i = 0; i < index.size(); ++i) index[i] = std::int64_t(i);
  h5::write_vector(group, "index", index);
  // E_q[z], and the node's own parameters where they are not the mean (Gaussian log-variances,
  // Bernoulli probabilities = the mean).
  Matrix mean;
  node.family->posterior_mean(node, mean);
  write_real_matrix(group, "mean", mean);
  if (node.log_var.size() > 0) write_real_matrix(group, "log_var", node.log_var);
  if (node.logits.size() > 0) write_real_matrix(group, "probability", mean);
  if (samples > 0) {
    Rng rng = Rng::stream(c.seed, {stable_hash("encode-samples")});
    Matrix z, noise;
    sample_node(node, samples, rng, z, noise);
    // Rows are sample-major (s*N + n): row-major [S x N x k] is exactly that order.
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> zr = z.cast<float>();
    h5::write_array(group, "samples", {hsize_t(samples), hsize_t(x.rows()), hsize_t(z.cols())}, zr.data());
  }
  group = H5::Group();
  file.commit();
  std::cout << fmt::format("encoded {} examples into {} latents; wrote {}\n", x.rows(), loaded.vae->latents(), c.out);
  return 0;
}

int run_reconstruct(const std::vector<std::string>& args, const Context& context) {
  po::options_description options("reconstruct options");
  add_common_options(options);
  add_data_options(options);
  po::variables_map vm;
  if (!parse(args, options, nullptr, vm)) {
    print_help("reconstruct", "--from run.h5 --out reconstructions.h5 [options]", options);
    return 0;
  }
  const Common c = common(vm);
  Loaded loaded = load_run(c.from, c.run);
  const Matrix x = data_rows(loaded.config, vm["split"].as<std::string>(), c.count, c.seed, vm["data-dir"].as<std::string>());
  StochasticNode node;
  loaded.vae->encode(Network::kInferenceSlot, x, node);
  Rng rng = Rng::stream(c.seed, {stable_hash("reconstruct")});
  Matrix z, noise, mean;
  sample_node(node, 1, rng, z, noise);
  loaded.vae->decode_mean(z, mean);
  h5::OutputFile file(c.out, c.force, {context.command_line, c.seed, train::config_text(loaded.config)});
  H5::Group group = h5::ensure_group(file.file(), "/reconstruct");
  annotate(group, loaded, c);
  h5::write_attribute(group, "split", vm["split"].as<std::string>());
  write_real_matrix(group, "input", x);
  write_real_matrix(group, "mean", mean);
  group = H5::Group();
  file.commit();
  std::cout << fmt::format("reconstructed {} examples; wrote {}\n", x.rows(), c.out);
  return 0;
}

int run_sample(const std::vector<std::string>& args, const Context& context) {
  po::options_description options("sample options");
  add_common_options(options);
  po::variables_map vm;
  if (!parse(args, options, nullptr, vm)) {
    print_help("sample", "--from run.h5 --out samples.h5 [--count N]", options);
    return 0;
  }
  const Common c = common(vm);
  Loaded loaded = load_run(c.from, c.run);
  // z, the decoded means and x, each once in float and once in double for the file.
  const VaeConfig& vc = loaded.vae->config();
  limits::require_memory(fmt::format("--count {}", c.count), "the samples, their means and their data", 12.0 *
                         double(c.count) * (double(vc.family().sample_columns(vc.latents)) + 2.0 * vc.decoder_outputs()),
                         "--count");
  Rng rng = Rng::stream(c.seed, {stable_hash("sample")});
  Matrix z, mean, x;
  loaded.vae->sample_prior(c.count, rng, z);
  loaded.vae->decode_mean(z, mean);
  loaded.vae->sample_data(z, rng, x);
  h5::OutputFile file(c.out, c.force, {context.command_line, c.seed, train::config_text(loaded.config)});
  H5::Group group = h5::ensure_group(file.file(), "/sample");
  annotate(group, loaded, c);
  write_real_matrix(group, "z", z);
  write_real_matrix(group, "mean", mean);
  write_real_matrix(group, "x", x);
  group = H5::Group();
  file.commit();
  std::cout << fmt::format("drew {} samples; wrote {}\n", c.count, c.out);
  return 0;
}

}  // namespace gradest::cli
