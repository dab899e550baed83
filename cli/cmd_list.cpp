// gradest list: the estimator x model table; with --options, each estimator's declared options.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "estimators/estimator.hpp"
#include "cli/commands.hpp"

namespace gradest::cli {
namespace {

void print_estimators() {
  // One column per latent family.
  std::cout << fmt::format("{:<24} ", "estimator");
  for (LatentKind kind : kLatentKinds) std::cout << fmt::format("{:<11} ", to_string(kind));
  std::cout << fmt::format("{:<15} {:<8} {:<6} {}\n", "objective", "bias", "cost", "summary");
  for (const auto& entry : estimator_registry()) {
    const auto& info = *entry.info;
    std::cout << fmt::format("{:<24} ", info.name);
    for (LatentKind kind : kLatentKinds) std::cout << fmt::format("{:<11} ", info.accepts(kind) ? "yes" : "-");
    std::cout << fmt::format("{:<15} {:<8} {:<6} {}\n", to_string(info.target), info.unbiased ? "unbiased" : "BIASED",
                             info.cost, info.summary);
  }
  std::cout << "cost: objective evaluations per data point (S samples, K importance samples, k latents with C values each)\n";
}

// One block per estimator: "name" then a row per option it declares (samples first, with the
// estimator's own minimum), as `gradest train` and sweep configs take them.
void print_options() {
  struct Row {
    std::string name, type, default_text, allowed, help;
  };
  std::vector<std::pair<std::string_view, std::vector<Row>>> blocks;
  std::size_t widths[4] = {6, 4, 7, 7};  // the header's words
  for (const auto& entry : estimator_registry()) {
    std::vector<Row> rows;
    for (const OptionSpec* declared : options_of(entry)) {
      OptionSpec spec = *declared;
      if (declared == &kSamplesOption) spec.min = entry.info->min_samples, spec.max = entry.info->max_samples;
      rows.push_back({std::string(spec.name), std::string(to_string(spec.type)), option_text(spec, default_value(spec)),
                      allowed_text(spec), std::string(spec.help)});
      const Row& r = rows.back();
      for (std::size_t i = 0; const std::string* s : {&r.name, &r.type, &r.default_text, &r.allowed})
        widths[i] = std::max(widths[i], s->size()), ++i;
    }
    blocks.emplace_back(entry.info->name, std::move(rows));
  }
  const std::string row_format = fmt::format("  {{:<{}}}  {{:<{}}}  {{:<{}}}  {{:<{}}}  {{}}\n", widths[0], widths[1],
                                             widths[2], widths[3]);
  std::cout << fmt::format(fmt::runtime(row_format), "option", "type", "default", "allowed", "help");
  for (const auto& [name, rows] : blocks) {
    std::cout << name << "\n";
    for (const Row& r : rows)
      std::cout << fmt::format(fmt::runtime(row_format), r.name, r.type, r.default_text, r.allowed, r.help);
  }
  std::cout << "options are set as `gradest train --OPTION VALUE` or OPTION = VALUE in a sweep config\n";
}

}  // namespace

int run_list(const std::vector<std::string>& args, const Context&) {
  po::options_description options("list options");
  options.add_options()("options", "each estimator's options: name, type, default, allowed values, help");
  po::variables_map vm;
  if (!parse(args, options, nullptr, vm)) {
    print_help("list", "[--options]", options);
    return 0;
  }
  if (vm.count("options")) print_options();
  else print_estimators();
  return 0;
}

}  // namespace gradest::cli
