#pragma once
// The seam between models and estimators: a batched stochastic node and the objective evaluated
// at its samples. Models implement `Objective`; estimators (estimators/) consume both.
//
// Conventions (every estimator and model follows them):
// - A batch has B data points. Sample matrices hold S*B rows, sample-major: row s*B + b is sample
//   s of data point b. An objective evaluated on such a matrix returns one value per row.
// - Gradients are of the quantity to MAXIMISE (an ELBO, a bound, E[f]), and of the SUM over the
//   batch's data points. The trainer divides by B to report per-example figures.
// - Gaussian nodes are parameterised by mean and log-variance, Bernoulli nodes by logits
//   (q(z_j = 1) = sigmoid(logit_j)).
#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "models/types.hpp"

namespace gradest {

// The latent families (models/latent_family.hpp), in the order listings show them.
enum class LatentKind { gaussian, bernoulli, categorical };
inline constexpr LatentKind kLatentKinds[] = {LatentKind::gaussian, LatentKind::bernoulli, LatentKind::categorical};
std::string_view to_string(LatentKind kind);

// A set of latent families (what an estimator accepts).
class LatentKinds {
 public:
  constexpr LatentKinds() = default;
  constexpr LatentKinds(std::initializer_list<LatentKind> kinds) {
    for (LatentKind kind : kinds) bits_ |= 1u << unsigned(kind);
  }
  constexpr bool contains(LatentKind kind) const { return (bits_ >> unsigned(kind)) & 1u; }

 private:
  unsigned bits_ = 0;
};

class LatentFamily;  // models/latent_family.hpp

// q(z | parameters), factorised over the k columns, one row per data point. Its family answers
// every question about it (sampling, log q, score, KL; models/latent_family.hpp).
struct StochasticNode {
  const LatentFamily* family = nullptr;  // set by whoever fills the node
  Matrix logits;   // bernoulli: B x k; categorical: B x (k*C)
  Matrix mean;     // gaussian: B x k
  Matrix log_var;  // gaussian: B x k

  LatentKind kind() const;
  Index batch() const;
  Index dim() const;
};

// Gradient with respect to a node's parameters; same shapes as the node.
struct NodeGradient {
  Matrix d_logits;
  Matrix d_mean;
  Matrix d_log_var;
  // Zero-filled gradient shaped like `node` (its family decides the shapes).
  void reset_like(const StochasticNode& node);
};

// f(x_b, z): the function whose expectation (or importance-weighted bound) an estimator targets.
//
// What f contains is the model's choice, declared by `terms()`:
// - likelihood: log p(x | z). Used with ELBO estimators; the KL term is added analytically by
//   the caller.
// - joint: log p(x | z) + log p(z). Used with importance-weighted bounds, whose log-weights are
//   f(z) - log q(z | x) (the estimator computes log q from the node).
// - toy: a plain test function f(z) with no data (x^2, the Gaussian test costs, (b - t)^2).
class Objective {
 public:
  enum class Terms { likelihood, joint, toy };
  static constexpr int kSlots = 4;  // evaluate/backward slot indices are 0 .. kSlots-1

  virtual ~Objective() = default;

  virtual Terms terms() const = 0;
  // B, the number of data points.
  virtual Index batch() const = 0;
  // Whether backward() can return df/dz (continuous in z). Bernoulli decoders accept relaxed z in
  // [0, 1] and say true.
  virtual bool differentiable_in_z() const = 0;
  // The data, for input-dependent baselines (B x D); nullptr for toys.
  virtual const Matrix* inputs() const { return nullptr; }

  // f(x_{r mod B}, z_r) for every row r of z into value (resized to z.rows()). Keeps what
  // backward(slot, ...) needs. Counts z.rows() objective evaluations.
  void evaluate(int slot, const Matrix& z, Vector& value) {
    evaluations_ += z.rows();
    do_evaluate(slot, z, value);
  }
  // After evaluate(slot, z, ...): adds sum_r weight_r * grad_theta f(x, z_r) to the model's own
  // parameter gradient (decoder, prior), and if grad_z is not null writes weight_r * df/dz_r into
  // its row r. weight has z.rows() entries.
  virtual void backward(int slot, const Vector& weight, Matrix* grad_z) = 0;
  // After evaluate(slot, z, ...), for objectives differentiable in z: writes weight_r * df/dz_r
  // into grad_z's row r (resized to z's shape) and adds NO gradient to the model's own
  // parameters. For control variates evaluated at relaxed latents (rebar, relax), whose
  // evaluations must not enter the decoder's gradient.
  virtual void gradient_in_z(int slot, const Vector& weight, Matrix& grad_z) = 0;
  // After evaluate(slot, z, ...): writes weight_r * (d^2 f/dz^2 at z_r) v_r into hv's row r (v and hv
  // shaped like z), adding no parameter gradient, and returns true; returns false (hv untouched)
  // for objectives that give no second derivatives. rebar's adapted temperature needs it.
  virtual bool hessian_vector_in_z(int /*slot*/, const Vector& /*weight*/, const Matrix& /*v*/, Matrix& /*hv*/) {
    return false;
  }

  std::int64_t evaluations() const { return evaluations_; }
  void reset_evaluations() { evaluations_ = 0; }

 protected:
  virtual void do_evaluate(int slot, const Matrix& z, Vector& value) = 0;

 private:
  std::int64_t evaluations_ = 0;
};

}  // namespace gradest
