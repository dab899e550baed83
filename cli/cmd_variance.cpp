// gradest variance: probe a basket of gradient estimators at the saved parameters of a training run
// (run/probe.hpp has the statistics and their normalisation).
//
// Output: /runs/<run-id>/variance/<label>/... (the schema of run/probe.hpp; one row, step =
// the run's steps_completed), with the run group's attributes source (the --from file) and run_id,
// and the root metadata of every gradest file.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "core/limits.hpp"
#include "store/h5io.hpp"
#include "run/probe.hpp"
#include "run/train.hpp"

namespace gradest::cli {

int run_variance(const std::vector<std::string>& args, const Context& context) {
  po::options_description options("variance options");
  options.add_options()("from", po::value<std::string>(), "run file written by gradest train (required)")(
      "run", po::value<std::string>()->default_value(""), "run id inside --from (if it holds several)")(
      "estimators", po::value<std::string>(), "the basket: comma list of name or name:S (required)")(
      "draws", po::value<std::int64_t>()->default_value(1000), "independent estimates per estimator (R >= 2)")(
      "seed", po::value<std::int64_t>()->default_value(-1), "seed of the draws [-1: the run's seed]")(
      "no-exact", "skip the exact reference even where the model admits one")(
      "write-vectors", "also write the gradient vectors behind the table: each estimator's mean and variance "
      "per parameter, and the exact gradient (under /runs/<id>/vectors)")(
      "write-draws", "also write every draw behind them: R x P float32 per estimator, chunked by rows and "
      "deflate-compressed (/runs/<id>/vectors/<label>/draws; implies --write-vectors)")(
      "out,o", po::value<std::string>(), "output HDF5 file (required)")("force", "overwrite an existing output file");
  po::variables_map vm;
  if (!parse(args, options, nullptr, vm)) {
    print_help("variance", "--from run.h5 --estimators a,b,c [--draws R] --out variance.h5", options);
    return 0;
  }
  if (!vm.count("from")) throw UsageError("--from is required: a run file written by gradest train");
  if (!vm.count("estimators")) throw UsageError("--estimators is required: a comma list of estimator names");
  if (!vm.count("out")) throw UsageError("--out is required: the HDF5 file to write");
  const std::string from = vm["from"].as<std::string>(), out = vm["out"].as<std::string>();
  const bool force = vm.count("force") > 0;
  H5::H5File source = h5::open_run_file(from, "--from");
  H5::Group run = h5::open_run(source, from, vm["run"].as<std::string>());
  train::TrainConfig config;
  auto vae = train::load_model(run, &config);
  const std::string id = h5::exists_attribute(run, "run_id") ? h5::read_string_attribute(run, "run_id") : "run";
  const std::int64_t step = h5::exists_attribute(run, "steps_completed") ? h5::read_int_attribute(run, "steps_completed") : 0;

  probe::ProbeOptions probe_options;
  probe_options.draws = vm["draws"].as<std::int64_t>();
  const std::int64_t seed = vm["seed"].as<std::int64_t>();
  if (seed < -1) throw UsageError(fmt::format("--seed must be >= 0 (or -1 for the run's seed), got {}", seed));
  probe_options.seed = seed < 0 ? config.seed : std::uint64_t(seed);
  probe_options.exact = vm.count("no-exact") == 0;
  probe_options.raw_draws = vm.count("write-draws") > 0;
  probe_options.vectors = vm.count("write-vectors") > 0 || probe_options.raw_draws;
  std::string error;
  if (!probe_options.valid(&error)) throw UsageError("--draws: " + error);
  const auto basket = probe::parse_basket(vm["estimators"].as<std::string>(), config.model, config.estimator_options);
  h5::check_output_path(out, force);
  if (probe_options.raw_draws) {
    // Every estimator's R x P draws are held (float32) until the file is written.
    const double bytes = 4.0 * double(basket.size()) * double(probe_options.draws) * double(vae->parameters().size());
    if (auto problem = limits::memory_shortfall(fmt::format("--write-draws with --draws {}", probe_options.draws),
                                                fmt::format("the draws of {} estimators ({} x {} float32 each)", basket.size(),
                                                            probe_options.draws, vae->parameters().size()),
                                                bytes, "--draws");
        !problem.empty())
      throw UsageError(problem);
  }

  const data::DataSplits data = train::load_data(config);
  if (!train::check_data(config, data, &error)) throw UsageError(error);
  const Matrix x = probe::probe_batch(config, data);
  double draws = 0;
  for (const auto& entry : basket) draws += double(probe_options.draws) * double(x.rows()) * entry.options.samples;
  if (auto problem = limits::work_shortfall(fmt::format("--draws {}", probe_options.draws), draws, "--draws");
      !problem.empty())
    throw UsageError(problem);

  std::cout << fmt::format("run {} at step {}: {} draws per estimator, minibatch of {} (per-example gradients)\n", id,
                           step, probe_options.draws, x.rows());
  const auto summaries = probe::run_probe(*vae, x, basket, probe_options, step);

  h5::RunMetadata metadata{context.command_line, probe_options.seed, train::config_text(config)};
  h5::OutputFile file(out, force, metadata);
  H5::Group group = h5::ensure_group(file.file(), "/runs/" + id);
  h5::write_attribute(group, "source", from);
  h5::write_attribute(group, "run_id", id);
  {
    probe::VarianceWriter writer(group);
    std::cout << probe::summary_header() << "\n";
    for (const auto& s : summaries) {
      writer.append(s);
      std::cout << probe::format_summary(s) << "\n";
    }
  }
  if (!summaries.empty()) std::cout << "exact reference: " << summaries.front().exact_reference << "\n";
  if (probe_options.vectors) {
    // /runs/<id>/vectors: the parameter layout, then per basket label its mean and variance [P] and,
    // where an exact reference exists, exact [P] (the ELBO's, or the K-sample bound's for that K).
    H5::Group vectors = h5::ensure_group(file.file(), "/runs/" + id + "/vectors");
    std::vector<std::int64_t> offsets, sizes;
    std::string names;
    for (const auto& g : vae->parameters().groups()) {
      names += (names.empty() ? "" : ",") + g.name;
      offsets.push_back(g.offset);
      sizes.push_back(g.size);
    }
    h5::write_attribute(vectors, "group_names", names);
    h5::write_vector(vectors, "group_offset", offsets);
    h5::write_vector(vectors, "group_size", sizes);
    for (const auto& s : summaries) {
      H5::Group v = h5::ensure_group(file.file(), "/runs/" + id + "/vectors/" + s.label);
      h5::write_attribute(v, "estimator", s.estimator);
      h5::write_attribute(v, "samples", std::int64_t{s.samples});
      h5::write_attribute(v, "draws", s.draws);
      h5::write_vector(v, "mean", std::vector<double>(s.vectors.mean.data(), s.vectors.mean.data() + s.vectors.mean.size()));
      h5::write_vector(v, "variance",
                       std::vector<double>(s.vectors.variance.data(), s.vectors.variance.data() + s.vectors.variance.size()));
      if (s.vectors.exact.size() > 0)
        h5::write_vector(v, "exact", std::vector<double>(s.vectors.exact.data(), s.vectors.exact.data() + s.vectors.exact.size()));
      if (s.vectors.draws.size() > 0)
        h5::write_compressed_rows(v, "draws", hsize_t(s.vectors.draws.rows()), hsize_t(s.vectors.draws.cols()),
                                  s.vectors.draws.data());
    }
  }
  group = H5::Group();
  file.commit();
  std::cout << fmt::format("wrote {} (/runs/{}/variance)\n", out, id);
  return 0;
}

}  // namespace gradest::cli
