#include "store/run_recorder.hpp"

#include <algorithm>
#include <cmath>

#include "gradest_version.hpp"
#include "store/params.hpp"

namespace gradest::h5 {

bool EvalRecord::finite() const {
  return std::isfinite(train_elbo) && std::isfinite(test_elbo) && (std::isfinite(test_iwae) || std::isnan(test_iwae)) &&
         std::isfinite(recon) && std::isfinite(kl);
}

RunRecorder::RunRecorder(H5::Group& run_group, const RunHeader& header) : group_(run_group) {
  for (const auto& key : header.keys) {
    std::string name = key.name;
    std::replace(name.begin(), name.end(), '-', '_');
    if (key.type == RecordedKey::Type::integer && key.value != "default")
      write_attribute(group_, name, std::int64_t(std::stoll(key.value)));
    else if (key.type == RecordedKey::Type::real && key.value != "default")
      write_attribute(group_, name, std::stod(key.value));
    else
      write_attribute(group_, name, key.value);
  }
  write_attribute(group_, "config", header.config_text);
  write_attribute(group_, "run_id", header.run_id);
  write_attribute(group_, "gradest_version", std::string(kVersion));
  write_attribute(group_, "git_commit", std::string(kGitCommit));
  write_attribute(group_, "seed", std::int64_t(header.seed));
  write_attribute(group_, "data_source", header.data->source);
  write_attribute(group_, "data_path", header.data->path);
  write_attribute(group_, "status", std::string("running"));
  write_attribute(group_, "steps_completed", std::int64_t(0));
  if (const auto& truth = header.data->truth) {
    write_attribute(group_, "true_log_likelihood_train", truth->train_log_likelihood);
    write_attribute(group_, "true_log_likelihood_test", truth->test_log_likelihood);
    H5::Group truth_group = h5::create_group(group_, "truth");
    write_array(truth_group, "values", {hsize_t(truth->parameters.size())}, truth->parameters.data());
  }
}

void RunRecorder::begin_trace() {
  trace_ = h5::create_group(group_, "trace");
  for (const char* name : {"step", "train_elbo", "test_elbo", "test_iwae", "recon", "kl", "active_units", "wall_time",
                           "steps_per_second", "baseline_loss", "baseline_explained_variance", "cv_temperature", "cv_scale"})
    series_.emplace_back(trace_, name);
}

void RunRecorder::append(const EvalRecord& r, const EstimatorDiagnostics& d) {
  const double row[] = {
      double(r.step), r.train_elbo,       r.test_elbo,     r.test_iwae,         r.recon, r.kl, r.active_units,
      r.wall_time,    r.steps_per_second, d.baseline_loss, d.explained_variance, d.temperature, d.scale};
  for (std::size_t i = 0; i < series_.size(); ++i) series_[i].append(row[i]);
  write_attribute(group_, "steps_completed", std::int64_t(r.step));
  flush();
}

void RunRecorder::write_final(const FinalEvaluation& f) {
  write_attribute(group_, "final_test_elbo", f.elbo);
  write_attribute(group_, "final_test_iwae", f.iwae);
  write_attribute(group_, "final_recon", f.recon);
  write_attribute(group_, "final_kl", f.kl);
  write_attribute(group_, "final_active_units", std::int64_t(f.active_units));
  write_attribute(group_, "final_test_examples", f.examples);
}

void RunRecorder::finish(Vae& vae, const RunEnding& ending) {
  write_parameters(group_, vae);
  write_attribute(group_, "status", ending.status);
  write_attribute(group_, "steps_completed", ending.steps_completed);
  if (ending.diverged_step) {
    write_attribute(group_, "diverged_step", *ending.diverged_step);
    write_attribute(group_, "divergence_reason", ending.divergence_reason);
    write_attribute(group_, "last_finite_step", std::int64_t(ending.last_finite.step));
    write_attribute(group_, "last_finite_test_elbo", ending.last_finite.test_elbo);
  }
  write_attribute(group_, "seconds", ending.seconds);
  flush();
}

void RunRecorder::flush() { H5Fflush(group_.getId(), H5F_SCOPE_GLOBAL); }

}  // namespace gradest::h5
