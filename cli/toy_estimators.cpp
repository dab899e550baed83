#include "cli/toy_estimators.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "store/h5io.hpp"

namespace gradest::cli {
namespace {

std::string attribute_name(std::string_view option) {
  std::string out(option);
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

std::string toy_option_help(const DeclaredOption& declared, LatentKind kind) {
  std::vector<std::string_view> names;
  for (auto name : declared.estimators)
    if (toy_applies(*find_estimator(name)->info, kind)) names.push_back(name);
  return fmt::format("{}: {}; {}", fmt::join(names, ", "), declared.spec->help, allowed_text(*declared.spec));
}

}  // namespace

bool toy_applies(const EstimatorInfo& info, LatentKind kind) {
  return info.accepts(kind) && info.target == Target::expectation;
}

std::string toy_estimator_names(LatentKind kind) {
  std::string out;
  for (const auto& entry : estimator_registry())
    if (toy_applies(*entry.info, kind)) {
      if (!out.empty()) out += ',';
      out += entry.info->name;
    }
  return out;
}

std::vector<const DeclaredOption*> toy_options(LatentKind kind) {
  std::vector<const DeclaredOption*> out;
  for (const auto& declared : declared_options()) {
    if (declared.spec == &kSamplesOption) continue;
    for (auto name : declared.estimators)
      if (toy_applies(*find_estimator(name)->info, kind)) {
        out.push_back(&declared);
        break;
      }
  }
  return out;
}

void add_toy_estimator_options(po::options_description& options, LatentKind kind) {
  for (const DeclaredOption* declared : toy_options(kind)) {
    const OptionSpec& spec = *declared->spec;
    options.add_options()(std::string(spec.name).c_str(),
                          po::value<std::string>()->default_value(option_text(spec, default_value(spec))),
                          toy_option_help(*declared, kind).c_str());
  }
}

void read_toy_estimator_options(const po::variables_map& vm, LatentKind kind, EstimatorOptions& out) {
  for (const DeclaredOption* declared : toy_options(kind))
    out.set_text(*declared->spec, vm[std::string(declared->spec->name)].as<std::string>());
}

std::vector<ToyEstimator> toy_estimators(const std::string& list, LatentKind kind, const EstimatorOptions& base,
                                         int samples, int configurations) {
  std::vector<std::string> names = split(list, ',');
  for (auto& name : names) name = trim(name);
  require_distinct(names, "estimators", "estimator");
  if (names.empty()) throw UsageError(fmt::format("option '--estimators': empty; allowed: {}", toy_estimator_names(kind)));
  std::string error;
  if (!base.valid(&error)) throw UsageError(error);
  std::vector<ToyEstimator> out;
  for (const auto& name : names) {
    const EstimatorEntry* entry = find_estimator(name);
    if (!entry || !toy_applies(*entry->info, kind))
      throw UsageError(fmt::format(
          "option '--estimators': '{}' {}; allowed: {}", name,
          !entry                        ? "is not an estimator"
          : !entry->info->accepts(kind) ? fmt::format("does not accept {} latents", to_string(kind))
                                        : fmt::format("does not estimate a {} expectation (the toy has no K-sample bound)",
                                                      to_string(kind)),
          toy_estimator_names(kind)));
    EstimatorOptions eo = base;
    eo.samples = std::max(samples, entry->info->min_samples);
    if (!eo.valid(&error)) throw UsageError(fmt::format("option for '{}': {}", name, error));
    if (entry->info->max_samples > 0 && eo.samples > entry->info->max_samples)
      throw UsageError(fmt::format("option '--samples': {} takes at most {} samples, got {}", name,
                                   entry->info->max_samples, eo.samples));
    if (name == "unordered-set" && eo.samples > configurations)
      throw UsageError(fmt::format("option '--samples': unordered-set draws S distinct values of the toy's {}, so "
                                   "S <= {}; got {}",
                                   configurations, configurations, eo.samples));
    out.push_back({name, eo});
  }
  return out;
}

void write_toy_option_attributes(H5::Group& group, const EstimatorOptions& options, LatentKind kind) {
  for (const DeclaredOption* declared : toy_options(kind)) {
    const OptionSpec& spec = *declared->spec;
    const std::string name = attribute_name(spec.name);
    const OptionValue value = options.value(spec);
    if (spec.type == OptionType::integer) h5::write_attribute(group, name, std::get<std::int64_t>(value));
    else if (spec.type == OptionType::real) h5::write_attribute(group, name, std::get<double>(value));
    else h5::write_attribute(group, name, option_text(spec, value));
  }
}

std::string toy_option_config_text(const EstimatorOptions& options, LatentKind kind) {
  std::string out;
  for (const DeclaredOption* declared : toy_options(kind))
    out += fmt::format("{} = {}\n", attribute_name(declared->spec->name), options.text(*declared->spec));
  return out;
}

}  // namespace gradest::cli
