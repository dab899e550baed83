// gradest summarize FILE.h5: per group of runs, mean +- standard error across seeds.
#include <fmt/format.h>

#include <iostream>
#include <set>

#include "store/summary.hpp"
#include "cli/commands.hpp"
#include "store/h5read.hpp"

namespace gradest::cli {

int run_summarize(const std::vector<std::string>& args, const Context&) {
  po::options_description options("summarize options");
  std::string path, by_text, format;
  options.add_options()
      ("file", po::value(&path), "a gradest .h5 file with runs (positional)")
      ("by", po::value(&by_text), "configuration keys to group runs by, comma-separated (default: every key that "
                                  "varies across runs, except seed)")
      ("format", po::value(&format)->default_value("markdown"), "markdown or csv");
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map vm;
  if (!parse(args, options, &positional, vm)) {
    print_help("summarize", "FILE.h5 [--by estimator,samples] [--format markdown|csv]", options);
    return 0;
  }
  if (path.empty()) throw UsageError("no FILE given; usage: gradest summarize FILE.h5 [--by keys] [--format markdown|csv]");
  if (format != "markdown" && format != "csv")
    throw UsageError(fmt::format("--format '{}' is not known; allowed: markdown, csv", format));
  H5::H5File file = h5::open_run_file(path);
  const auto runs = analysis::read_runs(file);
  if (runs.empty()) throw UsageError(fmt::format("'{}' holds no runs (no /runs group)", path));
  std::vector<std::string> by;
  if (vm.count("by")) {
    by = split(by_text, ',');
    require_distinct(by, "by", "key");
    for (const auto& key : by) {
      bool known = false;
      for (const auto& run : runs) known |= run.config.count(key) > 0;
      if (!known) {
        std::string keys;
        for (const auto& [k, v] : runs.front().config) keys += (keys.empty() ? "" : ", ") + k;
        throw UsageError(fmt::format("--by key '{}' is not a configuration key of these runs; allowed: {}", key, keys));
      }
    }
  } else {
    // Default: the configuration keys that vary across runs, except the seed (runs of one group
    // differ only by seed; outcome attributes such as seconds or final_* never define groups).
    for (const auto& [key, value] : runs.front().settings) {
      if (key == "seed") continue;
      for (const auto& run : runs) {
        auto it = run.settings.find(key);
        if (it == run.settings.end() || it->second != value) {
          by.push_back(key);
          break;
        }
      }
    }
  }
  const auto rows = analysis::summarize(runs, by);
  std::cout << (format == "csv" ? analysis::format_csv(by, rows) : analysis::format_markdown(by, rows));
  return 0;
}

}  // namespace gradest::cli
