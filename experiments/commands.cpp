// The subcommand table: one line per subcommand.
#include <array>

#include "experiments/commands.hpp"

namespace gradest::cli {
namespace {
const auto kSubcommands = std::to_array<Subcommand>({
    {"list", "the estimators and the models each applies to, with objective, bias and cost", &run_list},
    {"toy-bernoulli", "the REBAR/RELAX Bernoulli toy: every Bernoulli estimator's mean and variance against exact, and training", &run_toy_bernoulli},
});
}  // namespace

std::span<const Subcommand> subcommands() { return kSubcommands; }

}  // namespace gradest::cli
