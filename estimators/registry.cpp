// The one place estimators are registered: one line each.
#include <fmt/format.h>

#include <array>
#include <limits>

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

namespace gradest {
namespace {

template <class E>
std::unique_ptr<Estimator> make(const EstimatorOptions& options) {
  return std::make_unique<E>(options);
}

const auto kRegistry = std::to_array<EstimatorEntry>({
    {&Pathwise::kInfo, &make<Pathwise>},
    {&Reinforce::kInfo, &make<Reinforce>},
    {&ReinforceMA::kInfo, &make<ReinforceMA>},
    {&ReinforceLOO::kInfo, &make<ReinforceLOO>},
    {&Vimco::kInfo, &make<Vimco>},
    {&Arm::kInfo, &make<Arm>},
    {&Disarm::kInfo, &make<Disarm>},
    {&GumbelSoftmax::kInfo, &make<GumbelSoftmax>},
    {&StraightThrough::kInfo, &make<StraightThrough>},
    {&Exact::kInfo, &make<Exact>},
    {&ReinforceSelfBaseline::kInfo, &make<ReinforceSelfBaseline>},
    {&Iwae::kInfo, &make<Iwae>},
    {&Stl::kInfo, &make<Stl>},
    {&Dreg::kInfo, &make<Dreg>},
    {&ReinforceNvil::kInfo, &make<ReinforceNvil>},
});

}  // namespace

std::string_view to_string(Target target) {
  return target == Target::expectation ? "elbo" : "k-sample-bound";
}

bool EstimatorOptions::valid(std::string* error) const {
  auto fail = [&](std::string message) {
    if (error) *error = std::move(message);
    return false;
  };
  if (samples < 1) return fail(fmt::format("samples must be an integer >= 1, got {}", samples));
  if (!(temperature > 0)) return fail(fmt::format("temperature must be > 0, got {}", temperature));
  if (!(baseline_decay >= 0 && baseline_decay < 1))
    return fail(fmt::format("baseline decay must be in [0, 1), got {}", baseline_decay));
  if (!(baseline_lr > 0)) return fail(fmt::format("baseline learning rate must be > 0, got {}", baseline_lr));
  for (int h : baseline_hidden)
    if (h < 1) return fail(fmt::format("baseline hidden sizes must be >= 1, got {}", h));
  return true;
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
  if (!entry->info->accepts(kind)) {
    if (error)
      *error = fmt::format("estimator '{}' does not apply to {} latents; allowed: {}", name,
                           to_string(kind), estimator_names(kind));
    return nullptr;
  }
  if (options.samples < entry->info->min_samples) {
    if (error)
      *error = fmt::format("estimator '{}' needs samples >= {}, got {}", name, entry->info->min_samples,
                           options.samples);
    return nullptr;
  }
  if (!options.valid(error)) return nullptr;
  return entry->make(options);
}

}  // namespace gradest
