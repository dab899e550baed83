#pragma once
// Entry points of the subcommands (one per cli/cmd_<name>.cpp), listed in commands.cpp.
#include "cli/cli.hpp"

namespace gradest::cli {

int run_train(const std::vector<std::string>& args, const Context& context);
int run_encode(const std::vector<std::string>& args, const Context& context);
int run_reconstruct(const std::vector<std::string>& args, const Context& context);
int run_sample(const std::vector<std::string>& args, const Context& context);
int run_list(const std::vector<std::string>& args, const Context& context);
int run_x2(const std::vector<std::string>& args, const Context& context);
int run_toy(const std::vector<std::string>& args, const Context& context);
int run_sweep(const std::vector<std::string>& args, const Context& context);
int run_summarize(const std::vector<std::string>& args, const Context& context);
int run_bench(const std::vector<std::string>& args, const Context& context);
int run_rerun(const std::vector<std::string>& args, const Context& context);
int run_merge(const std::vector<std::string>& args, const Context& context);
int run_toy_bernoulli(const std::vector<std::string>& args, const Context& context);
int run_toy_categorical(const std::vector<std::string>& args, const Context& context);
int run_variance(const std::vector<std::string>& args, const Context& context);
int run_check_unbiased(const std::vector<std::string>& args, const Context& context);

}  // namespace gradest::cli
