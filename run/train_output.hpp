#pragma once
// One training run written to a file of its own, as `gradest train --out FILE` does it.
//
// The file is written as "<path>.partial-<pid>" (h5::OutputFile) and renamed to <path> when the
// run ends (completed, diverged or interrupted through TrainHooks::stop). The partial file is
// flushed at every evaluation and stays readable: a run killed outright (SIGKILL, power loss) leaves
// "<path>.partial-<pid>" with the trace up to its last evaluation and status "running"; an
// existing <path> is never touched until the new run is complete. The run is recorded under
// /runs/<run id> (run/train.hpp has the schema); the root attributes hold the command line, the
// seed and the resolved configuration.
#include <optional>
#include <string>

#include "run/train.hpp"
#include "store/h5io.hpp"

namespace gradest::train {

class TrainOutput {
 public:
  // `config` resolved and valid. Checks the output path (InputError: it exists and !overwrite, or
  // its directory cannot be written), loads the data and checks them against the config
  // (ConfigError), then opens the partial file.
  TrainOutput(const TrainConfig& config, const std::string& path, bool overwrite, const std::string& command_line);

  const data::DataSplits& data() const { return data_; }
  const std::string& run_id() const { return id_; }

  // Trains (run_training) into /runs/<run id> and commits the file. Once only.
  TrainResult run(const TrainHooks& hooks = {});

 private:
  TrainConfig config_;
  data::DataSplits data_;
  std::string id_;
  std::optional<h5::OutputFile> file_;
};

}  // namespace gradest::train
