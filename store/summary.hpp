#pragma once
// Statistics over finished runs: groups of runs (by configuration keys), mean and standard error
// across the runs of a group (seeds), for `gradest summarize`.
#include <H5Cpp.h>

#include <map>
#include <string>
#include <vector>

namespace gradest::analysis {

struct RunRecord {
  std::string id;
  std::map<std::string, std::string> config;    // every string/number attribute of the run group, as text,
                                                // and every configuration key
  std::map<std::string, std::string> settings;  // the configuration keys only (from the `config` lines)
  std::map<std::string, double> metrics;      // final_test_elbo, best_test_elbo, ..., NaN if absent
};

// The metrics, in the order tables print them.
const std::vector<std::string>& metric_names();

// Reads every /runs/<id> of an open gradest file.
std::vector<RunRecord> read_runs(const H5::H5File& file);

struct MeanSe {
  double mean = 0, se = 0;
  int n = 0;  // runs with a finite value
};
MeanSe mean_se(const std::vector<double>& values);  // NaNs ignored; se = sd / sqrt(n), sd with n-1

struct SummaryRow {
  std::vector<std::string> key_values;  // one per --by key
  int runs = 0;
  std::map<std::string, MeanSe> metrics;
};
std::vector<SummaryRow> summarize(const std::vector<RunRecord>& runs, const std::vector<std::string>& by);

std::string format_markdown(const std::vector<std::string>& by, const std::vector<SummaryRow>& rows);
std::string format_csv(const std::vector<std::string>& by, const std::vector<SummaryRow>& rows);

}  // namespace gradest::analysis
