#include "cli/probe_options.hpp"

#include <cstdint>
#include <string>

namespace gradest::cli {

void add_probe_options(po::options_description& options) {
  options.add_options()("probe-every", po::value<std::int64_t>(),
                        "probe gradient estimators every P steps (and at steps 0 and the last): variance/ in the run")(
      "probe-estimators", po::value<std::string>(),
      "the basket probed at the same parameters: comma list of name or name:S [the training estimator]")(
      "probe-draws", po::value<std::int64_t>()->default_value(1000), "independent estimates per probe (R >= 2)");
}

std::optional<probe::TrainingProbe> parse_probe_options(const po::variables_map& vm, const train::TrainConfig& config) {
  if (!vm.count("probe-every")) {
    if (vm.count("probe-estimators")) throw UsageError("--probe-estimators needs --probe-every P (P >= 1)");
    return std::nullopt;
  }
  std::optional<std::string> estimators;
  if (vm.count("probe-estimators")) estimators = vm["probe-estimators"].as<std::string>();
  return probe::make_training_probe(vm["probe-every"].as<std::int64_t>(), vm["probe-draws"].as<std::int64_t>(),
                                    estimators, config);
}

}  // namespace gradest::cli
