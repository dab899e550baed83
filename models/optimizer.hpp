#pragma once
// First-order optimisers over ranges of a flat parameter vector.
//
// Sign convention: ASCENT. Gradients in gradest are of the quantity to maximise (an ELBO, a bound),
// so every optimiser moves the parameters along +gradient:
//   sgd:   theta <- theta + lr_t * g
//   adam:  m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;
//          theta <- theta + lr_t/(1-b1^t) * m / (sqrt(v/(1-b2^t)) + eps)   (PyTorch's placement of eps)
// lr_t follows a schedule (`LearningRate`): constant, or decaying from `initial` to `final` over
// `total_steps` steps (exponential: lr0 (lr1/lr0)^(t/T); cosine: lr1 + (lr0-lr1)(1+cos(pi t/T))/2;
// constant at lr1 after T).
//
// A model's parameters live in one vector with named groups (encoder, decoder, prior): each group
// gets its own optimiser and learning rate (`GroupOptimizer`), as the DisARM protocol trains the
// prior logits by SGD and the networks by Adam. Moment estimates are kept in Real (float32 in the
// binary); the step count and bias corrections in double.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "models/types.hpp"

namespace gradest {

enum class LrDecay { none, exponential, cosine };
enum class OptimizerKind { adam, sgd };
std::string_view to_string(LrDecay decay);
std::string_view to_string(OptimizerKind kind);
// nullptr-free parsing: false if `text` names none (the caller reports the allowed values).
bool parse_lr_decay(std::string_view text, LrDecay* out);
bool parse_optimizer_kind(std::string_view text, OptimizerKind* out);

struct LearningRate {
  double initial = 1e-3;
  double final = 1e-4;           // (lr1) reached at total_steps when decay != none
  LrDecay decay = LrDecay::none;
  std::int64_t total_steps = 1;  // T
  // Learning rate for step t = 0, 1, ... (the t-th update).
  double at(std::int64_t step) const;
  bool valid(std::string* error) const;
};

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::adam;
  LearningRate lr;
  double beta1 = 0.9;     // adam
  double beta2 = 0.999;   // adam
  double epsilon = 1e-8;  // adam
  bool valid(std::string* error) const;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  static std::unique_ptr<Optimizer> make(const OptimizerOptions& options, Index size);

  // One ascent step on `params` with gradient scale * `grad` (same size as given to make()); the
  // scale is applied element by element inside the update (the trainer passes 1/B) rather than
  // in a scaled copy of the gradient. Returns whether every updated parameter is finite, checked in
  // the same pass over memory as the update (no second pass over the parameters to check them).
  virtual bool step(Eigen::Ref<Vector> params, Eigen::Ref<const Vector> grad, Real scale = 1) = 0;
  std::int64_t steps() const { return steps_; }
  // The learning rate the next step will use.
  double learning_rate() const { return options_.lr.at(steps_); }
  const OptimizerOptions& options() const { return options_; }

 protected:
  explicit Optimizer(const OptimizerOptions& options) : options_(options) {}
  OptimizerOptions options_;
  std::int64_t steps_ = 0;
};

class Sgd final : public Optimizer {
 public:
  explicit Sgd(const OptimizerOptions& options) : Optimizer(options) {}
  bool step(Eigen::Ref<Vector> params, Eigen::Ref<const Vector> grad, Real scale = 1) override;
};

class Adam final : public Optimizer {
 public:
  Adam(const OptimizerOptions& options, Index size);
  bool step(Eigen::Ref<Vector> params, Eigen::Ref<const Vector> grad, Real scale = 1) override;

 private:
  Vector m_, v_;
};

// One optimiser per range [offset, offset+size) of a flat vector. Ranges must not overlap; a
// range with no optimiser is left unchanged.
class GroupOptimizer {
 public:
  void add(std::string name, Index offset, Index size, const OptimizerOptions& options);
  // Steps every range of params along the matching range of scale * grad; returns whether every
  // updated parameter is finite (Optimizer::step).
  bool step(Vector& params, const Vector& grad, Real scale = 1);
  // Whether the ranges together cover [0, size) (then step's answer covers every parameter).
  bool covers(Index size) const;
  struct Range {
    std::string name;
    Index offset = 0, size = 0;
    std::unique_ptr<Optimizer> optimizer;
  };
  const std::vector<Range>& ranges() const { return ranges_; }

 private:
  std::vector<Range> ranges_;
};

}  // namespace gradest
