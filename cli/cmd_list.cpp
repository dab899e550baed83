// gradest list: the estimator x model table.
#include <fmt/format.h>

#include <iostream>

#include "estimators/estimator.hpp"
#include "cli/commands.hpp"

namespace gradest::cli {

int run_list(const std::vector<std::string>& args, const Context&) {
  po::options_description options("list options");
  po::variables_map vm;
  if (!parse(args, options, nullptr, vm)) {
    print_help("list", "", options);
    return 0;
  }
  // One column per latent family.
  std::cout << fmt::format("{:<24} ", "estimator");
  for (LatentKind kind : kLatentKinds) std::cout << fmt::format("{:<9} ", to_string(kind));
  std::cout << fmt::format("{:<15} {:<8} {:<6} {}\n", "objective", "bias", "cost", "summary");
  for (const auto& entry : estimator_registry()) {
    const auto& info = *entry.info;
    std::cout << fmt::format("{:<24} ", info.name);
    for (LatentKind kind : kLatentKinds) std::cout << fmt::format("{:<9} ", info.accepts(kind) ? "yes" : "-");
    std::cout << fmt::format("{:<15} {:<8} {:<6} {}\n", to_string(info.target), info.unbiased ? "unbiased" : "BIASED",
                             info.cost, info.summary);
  }
  std::cout << "cost: objective evaluations per data point (S samples, K importance samples, k latents)\n";
  return 0;
}

}  // namespace gradest::cli
