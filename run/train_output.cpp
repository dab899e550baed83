#include "run/train_output.hpp"

#include <stdexcept>

#include "core/errors.hpp"

namespace gradest::train {

TrainOutput::TrainOutput(const TrainConfig& config, const std::string& path, bool overwrite,
                         const std::string& command_line)
    : config_(config) {
  h5::check_output_path(path, overwrite);
  data_ = load_data(config_);
  std::string error;
  if (!check_data(config_, data_, &error)) throw ConfigError(error);
  id_ = train::run_id(config_);
  file_.emplace(path, overwrite, h5::RunMetadata{command_line, config_.seed, config_text(config_)});
}

TrainResult TrainOutput::run(const TrainHooks& hooks) {
  if (!file_) throw std::logic_error("TrainOutput::run: called twice");
  TrainResult result;
  {
    H5::Group run_group = h5::ensure_group(file_->file(), "/runs/" + id_);
    result = run_training(config_, data_, run_group, hooks);
  }  // the group is closed before the file is
  file_->commit();
  file_.reset();
  return result;
}

}  // namespace gradest::train
