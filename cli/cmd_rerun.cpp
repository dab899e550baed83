// gradest rerun FILE.h5 RUN-ID: runs a recorded run again from its recorded configuration and
// compares the result with the record: every attribute and dataset of the run's group (its trace,
// parameters, truth, final evaluation, status and, when the run was probed during training, the
// probe's variance/ records), except the wall-clock measurements (store/merge.hpp is_timing_name).
// Exit 0 if identical, 1 if anything differs (the first difference is printed), 2 if the record
// cannot be rerun (no or an edited configuration, a run id that the configuration does not give).
#include <H5Cpp.h>
#include <fmt/format.h>

#include <iostream>
#include <optional>

#include "cli/commands.hpp"
#include "core/text.hpp"
#include "run/probe.hpp"
#include "store/h5read.hpp"
#include "store/merge.hpp"
#include "run/train.hpp"

namespace gradest::cli {

namespace {

// The recorded configuration, checked: present, valid, and giving the run's recorded id.
train::TrainConfig recorded_config(const H5::Group& recorded, const std::string& path, const std::string& group_name) {
  if (h5::exists_attribute(recorded, "config") && text::trim(h5::read_string_attribute(recorded, "config")).empty())
    throw UsageError(fmt::format("'{}': run {} has an empty recorded configuration; nothing to rerun", path, group_name));
  train::TrainConfig config = train::recorded_config(recorded);  // present, names a model, parses
  std::string error;
  if (!config.valid(&error)) throw UsageError(fmt::format("'{}': the recorded configuration is invalid: {}", path, error));
  config.resolve();
  const std::string recomputed = train::run_id(config);
  const std::string recorded_id =
      h5::exists_attribute(recorded, "run_id") ? h5::read_string_attribute(recorded, "run_id") : std::string("(none)");
  if (recomputed != group_name || recorded_id != group_name)
    throw UsageError(fmt::format("'{}': run {} (run_id attribute {}) does not match its recorded configuration, which "
                                 "gives run id {}: the record was edited or written by another gradest; nothing was rerun",
                                 path, group_name, recorded_id, recomputed));
  return config;
}

// The training probe the run was recorded with (variance/<label>/: estimator, samples, draws, step),
// or nullopt if it was not probed during training.
std::optional<probe::TrainingProbe> recorded_probe(const H5::Group& recorded, const train::TrainConfig& config,
                                                   const std::string& path) {
  if (!h5::exists(recorded, "variance")) return std::nullopt;
  const H5::Group variance = h5::open_group(recorded, "variance");
  std::string basket;
  std::int64_t draws = 0, every = 0;
  for (hsize_t i = 0; i < variance.getNumObjs(); ++i) {
    const std::string label = variance.getObjnameByIdx(i);
    const H5::Group g = h5::open_group(variance, label);
    for (const char* name : {"estimator", "samples", "draws"})
      if (!h5::exists_attribute(g, name)) throw UsageError(fmt::format("'{}': variance/{} has no '{}' attribute", path, label, name));
    const std::string estimator = h5::read_string_attribute(g, "estimator");
    const std::int64_t samples = h5::read_int_attribute(g, "samples");
    draws = h5::read_int_attribute(g, "draws");
    basket += (basket.empty() ? "" : ",") + (label == estimator ? estimator : fmt::format("{}:{}", estimator, samples));
    const auto steps = h5::read_int_vector(g, "step");
    if (steps.size() >= 2) every = steps[1] - steps[0];
  }
  if (every < 1) every = config.steps;  // probed at step 0 (and the last) only
  try {
    return probe::make_training_probe(every, draws, basket, config);
  } catch (const Error& e) {  // an edited or damaged record: name the file
    throw UsageError(fmt::format("'{}': the recorded probe (variance/) cannot be rerun: {}", path, e.what()));
  }
}

}  // namespace

int run_rerun(const std::vector<std::string>& args, const Context&) {
  po::options_description options("rerun options");
  std::string path, id, out;
  options.add_options()
      ("file", po::value(&path), "a gradest .h5 file (positional)")
      ("run", po::value(&id), "the run id (positional; optional if the file holds one run)")
      ("out", po::value(&out), "also keep the new run in this file")
      ("force", "overwrite the --out file if it exists");
  po::positional_options_description positional;
  positional.add("file", 1).add("run", 1);
  po::variables_map vm;
  if (!parse(args, options, &positional, vm)) {
    print_help("rerun", "FILE.h5 [RUN-ID] [--out again.h5 [--force]]", options);
    return 0;
  }
  if (path.empty()) throw UsageError("no FILE given; usage: gradest rerun FILE.h5 [RUN-ID]");
  const bool force = vm.count("force") > 0;
  if (!out.empty()) h5::check_output_path(out, force);
  H5::H5File file = h5::open_run_file(path);
  H5::Group recorded = h5::open_run(file, path, id);
  const std::string group_name = recorded.getObjName().substr(recorded.getObjName().rfind('/') + 1);
  const train::TrainConfig config = recorded_config(recorded, path, group_name);
  train::TrainHooks hooks;
  if (const auto probe = recorded_probe(recorded, config, path)) probe::install_probe(*probe, hooks, false);
  std::cout << fmt::format("rerunning {} from '{}'\n", group_name, path) << std::flush;

  H5::FileAccPropList fapl;
  fapl.setCore(1 << 22, false);  // in memory only: nothing is written unless --out
  H5::H5File scratch("gradest-rerun.h5", H5F_ACC_TRUNC, H5::FileCreatPropList::DEFAULT, fapl);
  H5::Group fresh = h5::ensure_group(scratch, "/runs/" + group_name);
  (void)train::run_training(config, fresh, hooks);
  const std::string difference = merge::compare_groups(recorded, fresh);
  if (!out.empty()) {
    h5::RunMetadata metadata{"gradest rerun " + path, config.seed, train::config_text(config)};
    h5::OutputFile kept(out, force, metadata);
    H5::Group runs = h5::ensure_group(kept.file(), "/runs");
    if (H5Ocopy(scratch.openGroup("/runs").getId(), group_name.c_str(), runs.getId(), group_name.c_str(), H5P_DEFAULT,
                H5P_DEFAULT) < 0)
      throw std::runtime_error(fmt::format("cannot copy the new run into '{}'", out));
    kept.commit();
  }
  if (difference.empty()) {
    std::cout << "identical: every attribute and dataset of the run matches bit for bit (wall-clock times excepted)\n";
    return 0;
  }
  std::cout << "DIFFERENT: " << difference << "\n";
  return 1;
}

}  // namespace gradest::cli
