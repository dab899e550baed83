#include "models/optimizer.hpp"

#include <fmt/format.h>

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace gradest {

std::string_view to_string(LrDecay decay) {
  switch (decay) {
    case LrDecay::none: return "none";
    case LrDecay::exponential: return "exponential";
    case LrDecay::cosine: return "cosine";
  }
  return "?";
}

std::string_view to_string(OptimizerKind kind) { return kind == OptimizerKind::adam ? "adam" : "sgd"; }

bool parse_lr_decay(std::string_view text, LrDecay* out) {
  for (LrDecay d : {LrDecay::none, LrDecay::exponential, LrDecay::cosine})
    if (to_string(d) == text) return *out = d, true;
  return false;
}

bool parse_optimizer_kind(std::string_view text, OptimizerKind* out) {
  for (OptimizerKind k : {OptimizerKind::adam, OptimizerKind::sgd})
    if (to_string(k) == text) return *out = k, true;
  return false;
}

double LearningRate::at(std::int64_t step) const {
  if (decay == LrDecay::none) return initial;
  const double t = std::min(1.0, double(step) / double(std::max<std::int64_t>(total_steps, 1)));
  if (decay == LrDecay::exponential) return initial * std::pow(final / initial, t);
  return final + 0.5 * (initial - final) * (1.0 + std::cos(std::numbers::pi * t));
}

bool LearningRate::valid(std::string* error) const {
  auto fail = [&](std::string message) {
    if (error) *error = std::move(message);
    return false;
  };
  if (!(initial > 0) || !std::isfinite(initial)) return fail(fmt::format("learning rate must be > 0, got {}", initial));
  if (decay != LrDecay::none && (!(final > 0) || !std::isfinite(final)))
    return fail(fmt::format("final learning rate must be > 0, got {}", final));
  if (total_steps < 1) return fail(fmt::format("learning-rate schedule needs total steps >= 1, got {}", total_steps));
  return true;
}

bool OptimizerOptions::valid(std::string* error) const {
  if (!lr.valid(error)) return false;
  auto fail = [&](std::string message) {
    if (error) *error = std::move(message);
    return false;
  };
  if (kind == OptimizerKind::adam) {
    if (!(beta1 >= 0 && beta1 < 1)) return fail(fmt::format("adam beta1 must be in [0, 1), got {}", beta1));
    if (!(beta2 >= 0 && beta2 < 1)) return fail(fmt::format("adam beta2 must be in [0, 1), got {}", beta2));
    if (!(epsilon > 0)) return fail(fmt::format("adam epsilon must be > 0, got {}", epsilon));
  }
  return true;
}

std::unique_ptr<Optimizer> Optimizer::make(const OptimizerOptions& options, Index size) {
  std::string error;
  if (!options.valid(&error)) throw std::invalid_argument(error);
  if (options.kind == OptimizerKind::sgd) return std::make_unique<Sgd>(options);
  return std::make_unique<Adam>(options, size);
}

bool Sgd::step(Eigen::Ref<Vector> params, Eigen::Ref<const Vector> grad, Real scale) {
  const Real lr = Real(learning_rate());
  Real* p = params.data();
  const Real* g = grad.data();
  int finite = 1;
  for (Index i = 0; i < params.size(); ++i) {
    p[i] += lr * (scale * g[i]);
    finite &= int(p[i] - p[i] == Real(0));  // x - x is 0 for finite x, NaN otherwise (IEEE)
  }
  ++steps_;
  return finite != 0;
}

Adam::Adam(const OptimizerOptions& options, Index size) : Optimizer(options), m_(Vector::Zero(size)), v_(Vector::Zero(size)) {}

bool Adam::step(Eigen::Ref<Vector> params, Eigen::Ref<const Vector> grad, Real scale) {
  if (grad.size() != m_.size() || params.size() != m_.size())
    throw std::invalid_argument(fmt::format("adam: size {} given, {} expected", grad.size(), m_.size()));
  const double t = double(steps_ + 1);
  const double lr = learning_rate();
  const Real b1 = Real(options_.beta1), b2 = Real(options_.beta2);
  const Real c1 = Real(1) - b1, c2 = Real(1) - b2;
  const Real step_size = Real(lr / (1.0 - std::pow(options_.beta1, t)));
  const Real inv_sqrt_bc2 = Real(1.0 / std::sqrt(1.0 - std::pow(options_.beta2, t)));
  const Real eps = Real(options_.epsilon);
  // One pass over the four vectors (the compiler vectorises it; sqrt and division stay exact), the
  // finiteness of the new parameters checked in it: x - x is 0 for finite x and NaN otherwise, and
  // the integer AND reduces in any order (a float sum would keep the loop scalar).
  Real* p = params.data();
  const Real* g_in = grad.data();
  Real* m = m_.data();
  Real* v = v_.data();
  const Index n = m_.size();
  int finite = 1;
  for (Index i = 0; i < n; ++i) {
    const Real g = scale * g_in[i];
    m[i] = b1 * m[i] + c1 * g;
    v[i] = b2 * v[i] + c2 * (g * g);
    const Real updated = p[i] + step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
    p[i] = updated;
    finite &= int(updated - updated == Real(0));
  }
  ++steps_;
  return finite != 0;
}

void GroupOptimizer::add(std::string name, Index offset, Index size, const OptimizerOptions& options) {
  for (const auto& r : ranges_)
    if (offset < r.offset + r.size && r.offset < offset + size)
      throw std::invalid_argument(fmt::format("optimiser range '{}' overlaps '{}'", name, r.name));
  ranges_.push_back({std::move(name), offset, size, Optimizer::make(options, size)});
}

bool GroupOptimizer::step(Vector& params, const Vector& grad, Real scale) {
  bool finite = true;
  for (auto& r : ranges_)
    finite = r.optimizer->step(params.segment(r.offset, r.size), grad.segment(r.offset, r.size), scale) && finite;
  return finite;
}

bool GroupOptimizer::covers(Index size) const {
  Index covered = 0;
  for (const auto& r : ranges_)
    if (r.offset >= 0 && r.offset + r.size <= size) covered += r.size;  // ranges never overlap (add)
  return covered == size;
}

}  // namespace gradest
