#pragma once
// The categorical toy: one categorical latent with C values,
//   q_theta(c) = softmax(theta)_c,  c in 0..C-1,   f(c) = (v_c - t)^2,  v_c = c / (C - 1),
// the categorical counterpart of the Bernoulli toy of REBAR/RELAX (models/toy_bernoulli.hpp; C = 2
// with theta = (0, theta_1) is that toy). The estimators target the C-vector
//   d/dtheta_j E_q[f] = p_j (f_j - E_q f),   p = softmax(theta).
//
// As an Objective (Terms::toy, differentiable in z so relaxations apply): a sample row z is a point of
// the simplex (one-hot for exact samples) and f(z) = (v . z - t)^2, which is f(c) at z = e_c;
// df/dz = 2 (v . z - t) v. A row of k*C columns holds k independent latents and f is the sum over
// them, sum_j (v . z_j - t)^2 (`gradest check-unbiased --model toy-categorical`; the gradient of
// latent j is the one-latent gradient at its logits). Any batch B >= 1 (the batch only sets batch();
// no data, no parameters).
//
// Exact moments (per coordinate j: the mean and the variance of ONE estimate of d/dtheta_j, with
// S samples), computed from each estimator's formula independently of estimators/:
// - score function with a constant baseline b, (1/S) sum_s (f(c_s) - b)(e_{c_s} - p): the single-sample
//   moments by summing over the C values, variance / S (iid terms);
// - leave-one-out (1/(S-1)) sum_s (f(c_s) - mean f)(e_{c_s} - p) and the biased self-including baseline
//   (1/S) sum_s (...): both depend on the samples only through their counts n (a multiset), so the sum
//   runs over the (S+C-1 choose C-1) multisets with multinomial probabilities;
// - IndeCateR (De Smet et al. 2023) on one latent: sum_c f(c) p_c (e_c - p) at every sample, the exact
//   gradient itself: variance 0;
// - straight-through, gradient through E_q[z] = p: J_softmax^T df/dz(e_c) = 2 (v_c - t)(p (.) v - p (p . v)),
//   single-sample moments over c, variance / S;
// - the unordered set estimator (Kool, van Hoof and Welling 2020, eqs. 10-11) with S distinct values
//   drawn without replacement: the sum runs over the (C choose S) sets, with p(set) and the
//   estimator's R-weights from their definitions (sums over the orderings of a set, products of
//   renormalised probabilities, every mass a sum of positive terms), not from the estimator's dynamic
//   programme.
// The sums are NaN when their work (count times C) exceeds kMaxEnumerationWork.
// The relaxations' moments (Gumbel-softmax) are C-dimensional integrals and are not computed.
#include <vector>

#include "models/stochastic.hpp"

namespace gradest {

class ToyCategorical final : public Objective {
 public:
  // categories C >= 2.
  explicit ToyCategorical(int categories, double t, Index batch = 1);
  Terms terms() const override { return Terms::toy; }
  Index batch() const override { return batch_; }
  bool differentiable_in_z() const override { return true; }
  // grad_z row r = weight_r * 2 (v . z_r - t) v.
  void backward(int slot, const Vector& weight, Matrix* grad_z) override;
  // The toy has no parameters: the same as backward.
  void gradient_in_z(int slot, const Vector& weight, Matrix& grad_z) override { backward(slot, weight, &grad_z); }

  int categories() const { return int(v_.size()); }
  double t() const { return t_; }
  double f(int c) const { return (v_[c] - t_) * (v_[c] - t_); }
  // The table f(0..C-1).
  VectorD values() const;
  // E_q[f] at logits theta (C entries).
  double expected_value(const VectorD& theta) const;
  // d/dtheta E_q[f] = p (.) (f - E_q f).
  VectorD exact_gradient(const VectorD& theta) const;

 protected:
  void do_evaluate(int slot, const Matrix& z, Vector& value) override;

 private:
  VectorD v_;
  double t_;
  Index batch_;
  Matrix z_[kSlots];
};

// Per-coordinate mean and variance of one estimate (C entries each; NaN where not computed).
struct ToyMomentsC {
  VectorD mean;
  VectorD variance;
};

namespace toy_categorical {
// The exact enumerations are refused (NaN) above this many elementary operations (a few seconds).
inline constexpr double kMaxEnumerationWork = 1e9;

// softmax(theta), computed stably.
VectorD probabilities(const VectorD& theta);
// Score function with constant baseline b (b = 0: reinforce).
ToyMomentsC score_function(const ToyCategorical& toy, const VectorD& theta, int samples, double baseline);
// Leave-one-out baseline, S >= 2.
ToyMomentsC leave_one_out(const ToyCategorical& toy, const VectorD& theta, int samples);
// The deliberately biased self-including baseline, S >= 2.
ToyMomentsC self_baseline(const ToyCategorical& toy, const VectorD& theta, int samples);
// IndeCateR: the exact gradient, variance 0.
ToyMomentsC indecater(const ToyCategorical& toy, const VectorD& theta);
// Straight-through through E_q[z] = softmax(theta).
ToyMomentsC straight_through(const ToyCategorical& toy, const VectorD& theta, int samples);
// The unordered set estimator, 2 <= S <= C.
ToyMomentsC unordered_set(const ToyCategorical& toy, const VectorD& theta, int samples);
// The number of multisets of size S over C values, (S+C-1 choose C-1), as a double.
double multiset_count(int categories, int samples);
}  // namespace toy_categorical

}  // namespace gradest
