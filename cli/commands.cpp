// The subcommand table: one line per subcommand.
#include <array>

#include "cli/commands.hpp"

namespace gradest::cli {
namespace {
const auto kSubcommands = std::to_array<Subcommand>({
    {"train", "train a Bernoulli, Gaussian or categorical VAE with a chosen estimator; ELBO traces and parameters in HDF5", &run_train},
    {"encode", "latent means (and samples) of data under a trained model", &run_encode},
    {"reconstruct", "reconstructions of data by a trained model", &run_reconstruct},
    {"sample", "new samples from a trained model's prior and decoder", &run_sample},
    {"list", "the estimators and the models each applies to, with objective, bias and cost", &run_list},
    {"x2", "the x^2 example: score function against pathwise variance as N grows", &run_x2},
    {"toy", "Gaussian test costs (Mohamed et al. 2020): exact and empirical gradient variances", &run_toy},
    {"sweep", "a grid of training runs from an INI file: parallel, resumable, sharded across a cluster", &run_sweep},
    {"summarize", "tables over a file's runs: mean +- standard error across seeds, grouped by configuration", &run_summarize},
    {"bench", "training-step and probe throughput for the PyTorch peer's models, and the step's FLOP rate", &run_bench},
    {"rerun", "run a recorded run again from its recorded configuration and compare bit for bit", &run_rerun},
    {"merge", "join run files (sweep shards) into one, refusing duplicates that differ", &run_merge},
    {"toy-bernoulli", "the REBAR/RELAX Bernoulli toy: every Bernoulli estimator's mean and variance against exact, and training", &run_toy_bernoulli},
    {"toy-categorical", "the categorical toy: every categorical estimator's mean and variance per coordinate against exact", &run_toy_categorical},
    {"variance", "probe a basket of estimators at a run's saved parameters: variance, SNR, bias and cost (HDF5)", &run_variance},
    {"check-unbiased", "z-test an estimator's mean against the exact gradient on a small model: PASS/FAIL", &run_check_unbiased},
});
}  // namespace

std::span<const Subcommand> subcommands() { return kSubcommands; }

}  // namespace gradest::cli
