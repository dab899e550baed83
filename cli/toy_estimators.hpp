#pragma once
// What the toy subcommands with discrete latents (toy-bernoulli, toy-categorical) share: which
// registered estimators a toy runs (those of its latent family that estimate an expectation), the
// estimators' declared options as command-line options, HDF5 attributes and config text, and the
// estimator list given on the command line, checked.
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "estimators/estimator.hpp"

namespace H5 {
class Group;
}

namespace gradest::cli {

bool toy_applies(const EstimatorInfo& info, LatentKind kind);
// Comma list of the estimators a toy of this family runs, in registry order.
std::string toy_estimator_names(LatentKind kind);
// The declared options of those estimators (samples is the toy's own option).
std::vector<const DeclaredOption*> toy_options(LatentKind kind);

// Adds one text option per declared option, with its default and the estimators that read it.
void add_toy_estimator_options(po::options_description& options, LatentKind kind);
// The values given for them (their defaults otherwise) into `out`.
void read_toy_estimator_options(const po::variables_map& vm, LatentKind kind, EstimatorOptions& out);

// The estimators named in `list` (comma list) with their options: `base` with samples raised to each
// estimator's minimum. Refuses unknown names, repeats, estimators of other families or of bounds,
// and invalid options, each in one line naming the allowed values.
struct ToyEstimator {
  std::string name;
  EstimatorOptions options;
};
// `configurations`: how many values the toy's latent has (2 Bernoulli, C categorical); estimators that
// draw distinct samples (unordered-set) are refused more samples than that.
std::vector<ToyEstimator> toy_estimators(const std::string& list, LatentKind kind, const EstimatorOptions& base,
                                         int samples, int configurations);

// HDF5 attributes of the declared options (integers int64, reals float64, the rest text; names with
// '_' for '-') and the same as config lines "name = value\n".
void write_toy_option_attributes(H5::Group& group, const EstimatorOptions& options, LatentKind kind);
std::string toy_option_config_text(const EstimatorOptions& options, LatentKind kind);

}  // namespace gradest::cli
