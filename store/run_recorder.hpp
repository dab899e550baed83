#pragma once
// The HDF5 record of one training run, written as the run goes (schema: run/train.hpp's header and
// the README's "HDF5 schema"): the run group's attributes, trace/ (one row per evaluation, flushed
// after each), truth/ for synthetic data, the final evaluation, params/ and the closing status.
// A run cut off at any point says what it was: the attributes come first.
#include <H5Cpp.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "estimators/estimator.hpp"
#include "models/vae.hpp"
#include "store/data.hpp"
#include "store/h5io.hpp"

namespace gradest::h5 {

// One row of trace/ (all per example, nats; see run/train.hpp).
struct EvalRecord {
  std::int64_t step = 0;
  double train_elbo = std::numeric_limits<double>::quiet_NaN();
  double test_elbo = std::numeric_limits<double>::quiet_NaN();
  double test_iwae = std::numeric_limits<double>::quiet_NaN();
  double recon = std::numeric_limits<double>::quiet_NaN();
  double kl = std::numeric_limits<double>::quiet_NaN();
  double active_units = std::numeric_limits<double>::quiet_NaN();
  double wall_time = 0;
  double steps_per_second = std::numeric_limits<double>::quiet_NaN();
  bool finite() const;
};

// A configuration key as recorded: typed attributes (integers int64, reals float64, the rest and
// "default" strings), named with '_' for '-'.
struct RecordedKey {
  std::string name;
  enum class Type { string, integer, real } type = Type::string;
  std::string value;
};

struct RunHeader {
  std::vector<RecordedKey> keys;
  std::string config_text;  // all "key = value" lines (attribute `config`)
  std::string run_id;
  std::uint64_t seed = 0;
  const data::DataSplits* data = nullptr;  // data_source, data_path, and the truth of synthetic data
};

// The whole-test-set evaluation after training (attributes final_*).
struct FinalEvaluation {
  double elbo = 0, iwae = 0, recon = 0, kl = 0;
  int active_units = 0;
  std::int64_t examples = 0;
};

// How the run ended (attributes status, steps_completed, and for a diverged run diverged_step,
// divergence_reason, last_finite_step, last_finite_test_elbo; seconds).
struct RunEnding {
  std::string status;
  std::int64_t steps_completed = 0;
  std::optional<std::int64_t> diverged_step;
  std::string divergence_reason;
  EvalRecord last_finite;
  double seconds = 0;
};

class RunRecorder {
 public:
  // Writes the header attributes (status "running", steps_completed 0) and truth/.
  RunRecorder(H5::Group& run_group, const RunHeader& header);
  // Creates trace/ (call once, before the first append).
  void begin_trace();
  // Appends a trace row (baseline columns from the estimator's diagnostics, NaN without a learned
  // baseline), sets steps_completed and flushes the file.
  void append(const EvalRecord& row, const EstimatorDiagnostics& diagnostics);
  void write_final(const FinalEvaluation& final_eval);
  // params/, then the closing attributes; flushes.
  void finish(Vae& vae, const RunEnding& ending);

 private:
  void flush();
  H5::Group& group_;
  H5::Group trace_;
  std::vector<Series> series_;
};

}  // namespace gradest::h5
