// The one place estimators are registered: one line each.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "estimators/estimator.hpp"
#include "estimators/pathwise.hpp"
#include "estimators/reinforce.hpp"
#include "estimators/reinforce_ma.hpp"
#include "estimators/reinforce_loo.hpp"
#include "estimators/vimco.hpp"
#include "estimators/arm.hpp"
#include "estimators/disarm.hpp"
#include "estimators/gumbel_softmax.hpp"
#include "estimators/straight_through.hpp"
#include "estimators/exact.hpp"
#include "estimators/reinforce_self_baseline.hpp"
#include "estimators/iwae.hpp"
#include "estimators/stl.hpp"
#include "estimators/dreg.hpp"
#include "estimators/reinforce_nvil.hpp"
#include "estimators/straight_through_gumbel.hpp"
#include "estimators/indecater.hpp"
#include "estimators/measure_valued.hpp"
#include "estimators/unordered_set.hpp"
#include "estimators/rebar.hpp"
#include "estimators/arms.hpp"
#include "estimators/double_cv.hpp"
#include "estimators/relax.hpp"

namespace gradest {
namespace {

template <class E>
std::unique_ptr<Estimator> make(const EstimatorOptions& options) {
  return std::make_unique<E>(options);
}

const auto kRegistry = std::to_array<EstimatorEntry>({
    {&Pathwise::kInfo, &make<Pathwise>},
    {&Reinforce::kInfo, &make<Reinforce>},
    {&ReinforceMA::kInfo, &make<ReinforceMA>, ReinforceMA::kOptions},
    {&ReinforceLOO::kInfo, &make<ReinforceLOO>},
    {&Vimco::kInfo, &make<Vimco>},
    {&Arm::kInfo, &make<Arm>},
    {&Disarm::kInfo, &make<Disarm>},
    {&GumbelSoftmax::kInfo, &make<GumbelSoftmax>, GumbelSoftmax::kOptions},
    {&StraightThrough::kInfo, &make<StraightThrough>},
    {&Exact::kInfo, &make<Exact>},
    {&ReinforceSelfBaseline::kInfo, &make<ReinforceSelfBaseline>},
    {&Iwae::kInfo, &make<Iwae>},
    {&Stl::kInfo, &make<Stl>},
    {&Dreg::kInfo, &make<Dreg>},
    {&ReinforceNvil::kInfo, &make<ReinforceNvil>, ReinforceNvil::kOptions},
    {&StraightThroughGumbel::kInfo, &make<StraightThroughGumbel>, StraightThroughGumbel::kOptions},
    {&IndeCateR::kInfo, &make<IndeCateR>},
    {&UnorderedSet::kInfo, &make<UnorderedSet>},
    {&MeasureValued::kInfo, &make<MeasureValued>},
    {&MeasureValuedUncoupled::kInfo, &make<MeasureValuedUncoupled>},
    {&Rebar::kInfo, &make<Rebar>, Rebar::kOptions},
    {&Arms::kInfo, &make<Arms>},
    {&DoubleCV::kInfo, &make<DoubleCV>, DoubleCV::kOptions},
    {&Relax::kInfo, &make<Relax>, Relax::kOptions},
});

// The estimator options recorded before estimators declared their own, in their recorded order:
// config texts and run ids hash the keys in this order, so it never changes. Options declared
// later follow them in registry order.
constexpr std::string_view kRecordedOrder[] = {"samples",         "temperature",     "baseline-decay",
                                               "baseline-hidden", "baseline-lr",     "baseline-centre",
                                               "baseline-normalise"};

std::size_t recorded_rank(std::string_view name) {
  const auto it = std::find(std::begin(kRecordedOrder), std::end(kRecordedOrder), name);
  return std::size_t(it - std::begin(kRecordedOrder));
}

}  // namespace

std::string_view to_string(Target target) {
  return target == Target::expectation ? "elbo" : "k-sample-bound";
}

std::span<const EstimatorEntry> estimator_registry() { return kRegistry; }

const EstimatorEntry* find_estimator(std::string_view name) {
  for (const auto& entry : kRegistry)
    if (entry.info->name == name) return &entry;
  return nullptr;
}

std::string estimator_names() {
  std::string out;
  for (const auto& entry : kRegistry) out += (out.empty() ? "" : ", ") + std::string(entry.info->name);
  return out;
}

std::string estimator_names(LatentKind kind) {
  std::string out;
  for (const auto& entry : kRegistry)
    if (entry.info->accepts(kind)) out += (out.empty() ? "" : ", ") + std::string(entry.info->name);
  return out;
}

std::unique_ptr<Estimator> make_estimator(std::string_view name, const EstimatorOptions& options,
                                          LatentKind kind, std::string* error) {
  const EstimatorEntry* entry = find_estimator(name);
  if (!entry) {
    if (error) *error = fmt::format("unknown estimator '{}'; allowed: {}", name, estimator_names());
    return nullptr;
  }
  return make_estimator(*entry, options, kind, error);
}

std::unique_ptr<Estimator> make_estimator(const EstimatorEntry& entry, const EstimatorOptions& options,
                                          LatentKind kind, std::string* error) {
  const std::string_view name = entry.info->name;
  if (!entry.info->accepts(kind)) {
    if (error)
      *error = fmt::format("estimator '{}' does not apply to {} latents; allowed: {}", name, to_string(kind),
                           estimator_names(kind));
    return nullptr;
  }
  if (options.samples < entry.info->min_samples) {
    if (error)
      *error = fmt::format("estimator '{}' needs samples >= {}, got {}", name, entry.info->min_samples,
                           options.samples);
    return nullptr;
  }
  if (options.samples > entry.info->max_samples) {
    if (error)
      *error = fmt::format("estimator '{}' needs samples <= {}, got {}", name, entry.info->max_samples,
                           options.samples);
    return nullptr;
  }
  if (!options.valid(error)) return nullptr;
  return entry.make(options);
}

std::vector<const OptionSpec*> options_of(const EstimatorEntry& entry) {
  std::vector<const OptionSpec*> out = {&kSamplesOption};
  for (const auto& spec : entry.options) out.push_back(&spec);
  return out;
}

std::vector<DeclaredOption> declared_options(std::span<const EstimatorEntry> entries) {
  std::vector<DeclaredOption> out = {{&kSamplesOption, {}}};
  for (const auto& entry : entries) {
    out.front().estimators.push_back(entry.info->name);
    for (const auto& spec : entry.options) {
      if (spec.name == kSamplesOption.name)
        throw std::logic_error(fmt::format("estimator '{}' declares samples, which every estimator has", entry.info->name));
      auto it = std::find_if(out.begin(), out.end(), [&](const DeclaredOption& d) { return d.spec->name == spec.name; });
      if (it == out.end()) {
        out.push_back({&spec, {entry.info->name}});
      } else if (!same_declaration(*it->spec, spec)) {
        throw std::logic_error(fmt::format("estimator option '{}' is declared differently by '{}' and '{}'", spec.name,
                                           it->estimators.front(), entry.info->name));
      } else {
        it->estimators.push_back(entry.info->name);
      }
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const DeclaredOption& a, const DeclaredOption& b) {
    return recorded_rank(a.spec->name) < recorded_rank(b.spec->name);
  });
  for (auto& declared : out) declared.recorded = recorded_rank(declared.spec->name) < std::size(kRecordedOrder);
  return out;
}

std::span<const DeclaredOption> declared_options() {
  static const std::vector<DeclaredOption> kDeclared = declared_options(kRegistry);
  return kDeclared;
}

}  // namespace gradest
