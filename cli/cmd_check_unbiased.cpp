// gradest check-unbiased: the unbiasedness z-test of one estimator on a small instance of a model
// (run/check_unbiased.hpp). Prints per group the largest |z|, the Bonferroni threshold and
// PASS or FAIL; exit status 0 (pass) or 1 (fail); 2 for a usage error. With --out, writes the
// vectors behind the test (and with --write-draws every draw) to /check_unbiased in that file.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>

#include "run/check_unbiased.hpp"
#include "cli/commands.hpp"
#include "core/limits.hpp"
#include "store/h5io.hpp"

namespace gradest::cli {

int run_check_unbiased(const std::vector<std::string>& args, const Context& context) {
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
      "batch", po::value<int>()->default_value(3), "data points of the small VAE instance")(
      "out,o", po::value<std::string>(), "also write the vectors behind the test to this HDF5 file (/check_unbiased)")(
      "write-draws", "with --out: also every draw, R x P float32, chunked by rows and deflate-compressed")(
      "force", "overwrite an existing --out file");
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
  const std::string out = vm.count("out") ? vm["out"].as<std::string>() : std::string();
  if (vm.count("write-draws") && out.empty()) throw UsageError("--write-draws needs --out FILE.h5");
  if (!out.empty()) h5::check_output_path(out, vm.count("force") > 0);
  spec.keep_draws = vm.count("write-draws") > 0;
  if (spec.keep_draws) {
    // At most a few hundred coordinates on these small instances: R x P float32.
    if (auto problem = limits::memory_shortfall(fmt::format("--write-draws with --draws {}", spec.draws),
                                                "the draws (R x at most 1000 float32)", 4000.0 * double(spec.draws),
                                                "--draws");
        !problem.empty())
      throw UsageError(problem);
  }

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
  if (!out.empty()) {
    // /check_unbiased: attributes model, estimator, samples, draws, alpha, seed, reference, passed,
    // max_abs_z, threshold; exact, mean, variance, z [P] (z = (mean - exact) / sqrt(variance / R), 0 where
    // the variance is 0); group_names (attribute), group_offset, group_size [G]; draws [R x P] float32
    // with --write-draws.
    h5::RunMetadata metadata{context.command_line, spec.seed, ""};
    h5::OutputFile file(out, vm.count("force") > 0, metadata);
    H5::Group group = h5::ensure_group(file.file(), "/check_unbiased");
    h5::write_attribute(group, "model", std::string(probe::to_string(spec.model)));
    h5::write_attribute(group, "estimator", spec.estimator);
    h5::write_attribute(group, "samples", std::int64_t{spec.options.samples});
    h5::write_attribute(group, "draws", spec.draws);
    h5::write_attribute(group, "alpha", spec.alpha);
    h5::write_attribute(group, "reference", result.reference);
    h5::write_attribute(group, "passed", std::int64_t{test.passed});
    h5::write_attribute(group, "max_abs_z", test.max_abs_z);
    h5::write_attribute(group, "threshold", test.threshold);
    auto as_vector = [](const VectorD& v) { return std::vector<double>(v.data(), v.data() + v.size()); };
    h5::write_vector(group, "exact", as_vector(result.exact));
    h5::write_vector(group, "mean", as_vector(result.mean));
    h5::write_vector(group, "variance", as_vector(result.variance));
    std::vector<double> z(std::size_t(result.mean.size()));
    for (Index i = 0; i < result.mean.size(); ++i)
      z[std::size_t(i)] = result.variance(i) > 0
                              ? (result.mean(i) - result.exact(i)) / std::sqrt(result.variance(i) / double(spec.draws))
                              : 0.0;
    h5::write_vector(group, "z", z);
    h5::write_attribute(group, "group_names", fmt::format("{}", fmt::join(result.group_names, ",")));
    h5::write_vector(group, "group_offset", result.group_offset);
    h5::write_vector(group, "group_size", result.group_size);
    if (result.draws.size() > 0)
      h5::write_compressed_rows(group, "draws", hsize_t(result.draws.rows()), hsize_t(result.draws.cols()),
                                result.draws.data());
    group = H5::Group();
    file.commit();
    std::cout << fmt::format("wrote {} (/check_unbiased)\n", out);
  }
  return test.passed ? 0 : 1;
}

}  // namespace gradest::cli
