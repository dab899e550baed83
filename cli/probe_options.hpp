#pragma once
// The training probe's command-line options (gradest train --probe-every P --probe-estimators a,b
// --probe-draws R); the probe itself is run/probe.hpp.
#include <optional>

#include "cli/cli.hpp"
#include "run/probe.hpp"

namespace gradest::cli {

// Adds --probe-every, --probe-estimators, --probe-draws to the train command's options.
void add_probe_options(po::options_description& options);
// nullopt without --probe-every; throws on a bad value or basket (before any output).
std::optional<probe::TrainingProbe> parse_probe_options(const po::variables_map& vm, const train::TrainConfig& config);

}  // namespace gradest::cli
