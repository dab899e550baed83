#pragma once
// Entry points of the subcommands (one per experiments/cmd_<name>.cpp), listed in commands.cpp.
#include "experiments/cli.hpp"

namespace gradest::cli {

int run_list(const std::vector<std::string>& args, const Context& context);
int run_toy_bernoulli(const std::vector<std::string>& args, const Context& context);

}  // namespace gradest::cli
