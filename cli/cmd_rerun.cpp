// gradest rerun FILE.h5 RUN-ID: runs a recorded run again from its recorded configuration and
// compares the result with the record, dataset by dataset (wall-clock measurements excepted).
// Exit 0 if identical, 1 if anything differs (the first difference is printed).
#include <H5Cpp.h>
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.hpp"
#include "store/merge.hpp"
#include "run/train.hpp"

namespace gradest::cli {

int run_rerun(const std::vector<std::string>& args, const Context&) {
  po::options_description options("rerun options");
  std::string path, id, out;
  options.add_options()
      ("file", po::value(&path), "a gradest .h5 file (positional)")
      ("run", po::value(&id), "the run id (positional; optional if the file holds one run)")
      ("out", po::value(&out), "also keep the new run in this file");
  po::positional_options_description positional;
  positional.add("file", 1).add("run", 1);
  po::variables_map vm;
  if (!parse(args, options, &positional, vm)) {
    print_help("rerun", "FILE.h5 [RUN-ID] [--out again.h5]", options);
    return 0;
  }
  if (path.empty()) throw UsageError("no FILE given; usage: gradest rerun FILE.h5 [RUN-ID]");
  if (!out.empty()) h5::check_output_path(out, false);
  H5::H5File file = h5::open_run_file(path);
  H5::Group recorded = h5::open_run(file, path, id);
  train::TrainConfig config = train::recorded_config(recorded);
  std::string error;
  if (!config.valid(&error)) throw UsageError(fmt::format("'{}': the recorded configuration is invalid: {}", path, error));
  config.resolve();
  const std::string run_name = train::run_id(config);
  std::cout << fmt::format("rerunning {} from '{}'\n", run_name, path) << std::flush;

  H5::FileAccPropList fapl;
  fapl.setCore(1 << 22, false);
  H5::H5File scratch("gradest-rerun.h5", H5F_ACC_TRUNC, H5::FileCreatPropList::DEFAULT, fapl);
  H5::Group fresh = h5::ensure_group(scratch, "/runs/" + run_name);
  const auto result = train::run_training(config, fresh, {});
  // Compare what training writes (attributes, trace, params, truth); probe records (variance/)
  // come from probe options that are not part of a run's configuration.
  std::string difference = merge::compare_groups(h5::open_group(recorded, "trace"), fresh.openGroup("trace"));
  if (difference.empty())
    difference = merge::compare_groups(h5::open_group(recorded, "params"), fresh.openGroup("params"));
  if (difference.empty() && h5::exists_attribute(recorded, "status")) {
    const std::string before = h5::read_string_attribute(recorded, "status");
    const std::string now(train::to_string(result.status));
    if (before != now) difference = fmt::format("status was '{}', is now '{}'", before, now);
  }
  if (!out.empty()) {
    h5::RunMetadata metadata{"gradest rerun " + path, config.seed, train::config_text(config)};
    h5::OutputFile kept(out, false, metadata);
    H5::Group runs = h5::ensure_group(kept.file(), "/runs");
    H5Ocopy(scratch.openGroup("/runs").getId(), run_name.c_str(), runs.getId(), run_name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
    kept.commit();
  }
  if (difference.empty()) {
    std::cout << "identical: every trace and parameter dataset matches bit for bit (wall-clock times excepted)\n";
    return 0;
  }
  std::cout << "DIFFERENT: " << difference << "\n";
  return 1;
}

}  // namespace gradest::cli
