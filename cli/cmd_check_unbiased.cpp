// gradest check-unbiased: the unbiasedness z-test of one estimator on a small instance of a model
// (run/check_unbiased.hpp). Prints per group the largest |z|, the Bonferroni threshold and
// PASS or FAIL; exit status 0 (pass) or 1 (fail); 2 for a usage error. Writes no file.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>

#include "run/check_unbiased.hpp"
#include "cli/commands.hpp"

namespace gradest::cli {

int run_check_unbiased(const std::vector<std::string>& args, const Context& /*context*/) {
  po::options_description options("check-unbiased options");
  options.add_options()("model", po::value<std::string>(),
                        "bernoulli-vae, gaussian-vae, categorical-vae, x2, toy-bernoulli or toy-categorical (required)")(
      "estimator", po::value<std::string>(), "the registered estimator to check (required; see gradest list)")(
      "samples", po::value<int>(), "samples S (K for importance-bound estimators) [the estimator's minimum]")(
      "draws", po::value<std::int64_t>()->default_value(20000), "independent estimates R")(
      "alpha", po::value<double>()->default_value(1e-4), "family-wise level of the Bonferroni z-test")(
      "seed", po::value<std::int64_t>()->default_value(1), "seed of the instance and the draws")(
      "latents", po::value<int>()->default_value(0),
      "latents of the small instance [3 bernoulli-vae or categorical-vae (<= 8), 1 gaussian-vae (<= 2), 2 toys]")(
      "batch", po::value<int>()->default_value(3), "data points of the small VAE instance");
  // The estimators' declared options (temperature, baseline settings, ...), their defaults unless given.
  for (const auto& declared : declared_options()) {
    if (declared.spec == &kSamplesOption) continue;
    const OptionSpec& os = *declared.spec;
    options.add_options()(std::string(os.name).c_str(), po::value<std::string>(),
                          fmt::format("{}: {}; {} [{}]", fmt::join(declared.estimators, ", "), os.help,
                                      allowed_text(os), option_text(os, default_value(os)))
                              .c_str());
  }
  po::variables_map vm;
  if (!parse(args, options, nullptr, vm)) {
    print_help("check-unbiased", "--model M --estimator E [--draws R] [--alpha 1e-4] [--seed S]", options);
    return 0;
  }
  if (!vm.count("model")) throw UsageError(fmt::format("--model is required; allowed: {}", probe::kCheckModelNames));
  if (!vm.count("estimator")) throw UsageError(fmt::format("--estimator is required; allowed: {}", estimator_names()));
  probe::CheckSpec spec;
  const auto model = probe::parse_check_model(vm["model"].as<std::string>());
  if (!model)
    throw UsageError(fmt::format("unknown --model '{}'; allowed: {}", vm["model"].as<std::string>(), probe::kCheckModelNames));
  spec.model = *model;
  spec.estimator = vm["estimator"].as<std::string>();
  const EstimatorEntry* entry = find_estimator(spec.estimator);
  if (!entry) throw UsageError(fmt::format("unknown estimator '{}'; allowed: {}", spec.estimator, estimator_names()));
  spec.options.samples = vm.count("samples") ? vm["samples"].as<int>() : entry->info->min_samples;
  for (const auto& declared : declared_options())
    if (declared.spec != &kSamplesOption && vm.count(std::string(declared.spec->name)))
      spec.options.set_text(*declared.spec, vm[std::string(declared.spec->name)].as<std::string>());
  spec.draws = vm["draws"].as<std::int64_t>();
  spec.alpha = vm["alpha"].as<double>();
  const auto seed = vm["seed"].as<std::int64_t>();
  if (seed < 0) throw UsageError(fmt::format("--seed must be >= 0, got {}", seed));
  spec.seed = std::uint64_t(seed);
  spec.latents = vm["latents"].as<int>();
  spec.batch = vm["batch"].as<int>();

  const probe::CheckResult result = probe::check_unbiased(spec);
  const auto& test = result.test;
  std::cout << fmt::format("{} on {} (S = {}, {}): {} draws, exact reference: {}\n", spec.estimator,
                           probe::to_string(spec.model), spec.options.samples,
                           entry->info->target == Target::expectation ? "ELBO" : "K-sample bound", spec.draws,
                           result.reference);
  for (const auto& g : test.groups)
    if (g.size > 0)
      std::cout << fmt::format("  {:<8} {:>5} coordinates  largest |z| {:8.3f}  (bias norm {:.3g})\n", g.name, g.size,
                               g.max_abs_z, g.bias_norm);
  std::cout << fmt::format("largest |z| {:.3f} over {} coordinates; Bonferroni threshold {:.3f} (family-wise alpha {:g}): {}"
                           "  [{:.1f} s]\n",
                           test.max_abs_z, test.coordinates, test.threshold, test.alpha, test.passed ? "PASS" : "FAIL",
                           result.seconds);
  return test.passed ? 0 : 1;
}

}  // namespace gradest::cli
