#pragma once
// The x^2 example: q_phi(z) = N(phi, 1), f(z) = z^2, target d/dphi E[z^2] = 2 phi.
//
// Single-sample estimators and their exact variances (z = phi + eps, eps ~ N(0, 1)):
// - score function: f(z) (z - phi)             variance phi^4 + 14 phi^2 + 15   (87 at phi = 2)
// - pathwise:       f'(z) = 2 (phi + eps)        variance 4
// An N-sample estimate (the mean of N single-sample ones) has these variances divided by N.
//
// As an Objective (Terms::toy, differentiable in z): f(z_r) = sum_j z_rj^2 for every row r of a
// sample matrix, any batch B >= 1 (the batch only sets batch(); the toy has no data and no
// parameters of its own). The node is Gaussian with mean phi and log-variance 0; the gradient the
// estimators return for the mean is the one above.
#include "models/stochastic.hpp"

namespace gradest {

class X2Objective final : public Objective {
 public:
  explicit X2Objective(Index batch = 1) : batch_(batch) {}
  Terms terms() const override { return Terms::toy; }
  Index batch() const override { return batch_; }
  bool differentiable_in_z() const override { return true; }
  // grad_z = weight_r * 2 z_r.
  void backward(int slot, const Vector& weight, Matrix* grad_z) override;
  // The toy has no parameters: the same as backward.
  void gradient_in_z(int slot, const Vector& weight, Matrix& grad_z) override { backward(slot, weight, &grad_z); }

 protected:
  void do_evaluate(int slot, const Matrix& z, Vector& value) override;

 private:
  Index batch_;
  Matrix z_[kSlots];
};

namespace x2 {
inline double true_gradient(double phi) { return 2.0 * phi; }
inline double score_function_variance(double phi) { return phi * phi * phi * phi + 14.0 * phi * phi + 15.0; }
inline double pathwise_variance(double /*phi*/) { return 4.0; }
}  // namespace x2

}  // namespace gradest
