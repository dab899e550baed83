#include "store/summary.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "core/text.hpp"
#include "store/h5read.hpp"

namespace gradest::analysis {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<double> read_series(const H5::Group& group, const std::string& name) {
  if (!h5::exists(group, name)) return {};
  return h5::read_vector(group, name);
}

double last_finite(const std::vector<double>& v) {
  for (auto it = v.rbegin(); it != v.rend(); ++it)
    if (std::isfinite(*it)) return *it;
  return kNaN;
}
double best(const std::vector<double>& v) {
  double b = kNaN;
  for (double x : v)
    if (std::isfinite(x) && !(x <= b)) b = x;
  return b;
}
double mean_finite(const std::vector<double>& v) {
  double s = 0;
  int n = 0;
  for (double x : v)
    if (std::isfinite(x)) s += x, ++n;
  return n ? s / n : kNaN;
}

// The run's configuration keys (as `gradest train` names them), from its "key = value" lines.
std::map<std::string, std::string> config_lines(const std::string& text) {
  std::map<std::string, std::string> out;
  for (const auto& line : text::split(text, '\n'))
    if (const auto eq = line.find('='); eq != std::string::npos)
      out[text::trim(line.substr(0, eq))] = text::trim(line.substr(eq + 1));
  return out;
}

void read_trace_metrics(const H5::Group& run, RunRecord& record) {
  if (!h5::exists(run, "trace")) return;
  const H5::Group trace = h5::open_group(run, "trace");
  const auto elbo = read_series(trace, "test_elbo"), iwae = read_series(trace, "test_iwae");
  record.metrics["final_test_elbo"] = last_finite(elbo);
  record.metrics["best_test_elbo"] = best(elbo);
  record.metrics["final_test_iwae"] = last_finite(iwae);
  record.metrics["best_test_iwae"] = best(iwae);
  record.metrics["final_recon"] = last_finite(read_series(trace, "recon"));
  record.metrics["final_kl"] = last_finite(read_series(trace, "kl"));
  record.metrics["final_active_units"] = last_finite(read_series(trace, "active_units"));
  record.metrics["steps_per_second"] = mean_finite(read_series(trace, "steps_per_second"));
}

// Variance of the training estimator at the last probe (the run's own estimator if probed).
void read_variance_metrics(const H5::Group& run, RunRecord& record) {
  const std::string estimator = record.config.count("estimator") ? record.config["estimator"] : "";
  if (estimator.empty() || estimator.find('/') != std::string::npos || !h5::exists(run, "variance/" + estimator))
    return;
  const H5::Group v = h5::open_group(run, "variance/" + estimator);
  const double var = last_finite(read_series(v, "trace_encoder"));
  record.metrics["var_encoder"] = var;
  record.metrics["snr_encoder"] = last_finite(read_series(v, "snr_encoder"));
  record.metrics["var_x_cost_encoder"] = var * last_finite(read_series(v, "evals_per_estimate"));
}

RunRecord read_run(const H5::Group& runs, const std::string& id) {
  RunRecord record;
  record.id = id;
  const H5::Group run = h5::open_group(runs, id);
  for (const auto& name : h5::attribute_names(run))
    if (name != "config") record.config[name] = h5::read_attribute_text(run, name);
  // The configuration keys, not the outcome attributes (final_*, seconds, status), group runs.
  if (h5::exists_attribute(run, "config")) {
    record.settings = config_lines(h5::read_string_attribute(run, "config"));
    for (const auto& [key, value] : record.settings) record.config[key] = value;
  }
  for (const auto& name : metric_names()) record.metrics[name] = kNaN;
  read_trace_metrics(run, record);
  read_variance_metrics(run, record);
  return record;
}
}  // namespace

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> names = {
      "final_test_elbo", "best_test_elbo", "final_test_iwae", "best_test_iwae", "final_recon", "final_kl",
      "final_active_units", "steps_per_second", "var_encoder", "snr_encoder", "var_x_cost_encoder"};
  return names;
}

std::vector<RunRecord> read_runs(const H5::H5File& file) {
  std::vector<RunRecord> out;
  const H5::Group root = file.openGroup("/");
  if (!h5::exists(root, "runs")) return out;
  const H5::Group runs = h5::open_group(root, "runs");
  for (const auto& member : h5::members(runs)) out.push_back(read_run(runs, member.first));
  return out;
}

MeanSe mean_se(const std::vector<double>& values) {
  MeanSe out;
  double sum = 0;
  for (double v : values)
    if (std::isfinite(v)) sum += v, ++out.n;
  if (out.n == 0) return {kNaN, kNaN, 0};
  out.mean = sum / out.n;
  double ss = 0;
  for (double v : values)
    if (std::isfinite(v)) ss += (v - out.mean) * (v - out.mean);
  out.se = out.n > 1 ? std::sqrt(ss / (out.n - 1) / out.n) : kNaN;
  return out;
}

std::vector<SummaryRow> summarize(const std::vector<RunRecord>& runs, const std::vector<std::string>& by) {
  std::map<std::vector<std::string>, std::vector<const RunRecord*>> groups;
  for (const auto& run : runs) {
    std::vector<std::string> key;
    for (const auto& k : by) {
      auto it = run.config.find(k);
      key.push_back(it == run.config.end() ? "-" : it->second);
    }
    groups[key].push_back(&run);
  }
  std::vector<SummaryRow> rows;
  for (const auto& [key, members] : groups) {
    SummaryRow row;
    row.key_values = key;
    row.runs = static_cast<int>(members.size());
    for (const auto& name : metric_names()) {
      std::vector<double> values;
      for (const auto* m : members) values.push_back(m->metrics.at(name));
      row.metrics[name] = mean_se(values);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

namespace {
std::string cell(const MeanSe& m) {
  if (m.n == 0) return "-";
  const double scale = std::max(std::abs(m.mean), 1e-300);
  const int digits = scale >= 100 ? 1 : scale >= 1 ? 3 : 4;
  if (m.n == 1 || !std::isfinite(m.se)) return fmt::format("{:.{}f}", m.mean, digits);
  return fmt::format("{:.{}f} ± {:.{}f}", m.mean, digits, m.se, digits);
}
}  // namespace

std::string format_markdown(const std::vector<std::string>& by, const std::vector<SummaryRow>& rows) {
  std::string out = "|";
  for (const auto& k : by) out += " " + k + " |";
  out += " runs |";
  for (const auto& m : metric_names()) out += " " + m + " |";
  out += "\n|";
  for (std::size_t i = 0; i < by.size() + 1 + metric_names().size(); ++i) out += "---|";
  out += "\n";
  for (const auto& row : rows) {
    out += "|";
    for (const auto& v : row.key_values) out += " " + v + " |";
    out += fmt::format(" {} |", row.runs);
    for (const auto& m : metric_names()) out += " " + cell(row.metrics.at(m)) + " |";
    out += "\n";
  }
  return out;
}

std::string format_csv(const std::vector<std::string>& by, const std::vector<SummaryRow>& rows) {
  std::string out;
  for (const auto& k : by) out += k + ",";
  out += "runs";
  for (const auto& m : metric_names()) out += "," + m + "_mean," + m + "_se," + m + "_n";
  out += "\n";
  for (const auto& row : rows) {
    for (const auto& v : row.key_values) out += (v.find(',') != std::string::npos ? "\"" + v + "\"" : v) + ",";
    out += std::to_string(row.runs);
    for (const auto& m : metric_names()) {
      const auto& s = row.metrics.at(m);
      out += fmt::format(",{},{},{}", s.mean, s.se, s.n);
    }
    out += "\n";
  }
  return out;
}

}  // namespace gradest::analysis
