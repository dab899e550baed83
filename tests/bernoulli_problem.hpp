#pragma once
// A small multi-dimensional Bernoulli test problem with a nonlinear f and parameters of its own,
// whose exact gradients come from enumeration (models/enumerate.hpp):
//   k latents, B data points, parameters theta = [w (k), A (k x k, column-major), c (B)],
//   h_b(z) = w . z + c_b,   f_b(z) = 3 log sigmoid(h_b(z)) + (1/2) z^T A z
//   df/dw = 3 (1 - sigmoid(h)) z,  df/dc_b = 3 (1 - sigmoid(h)),  df/dA = (1/2) z z^T,
//   df/dz = 3 (1 - sigmoid(h)) w + (1/2) (A + A^T) z
// Terms are configurable: likelihood/toy for ELBO estimators, joint for K-sample bounds (f is then
// read as log p(x, z)). `wrong_backward` drops the 1/2 of df/dA: the companion that the
// finite-difference check must catch.
#include <cassert>
#include <cmath>

#include "models/latent_family.hpp"
#include "models/distributions.hpp"
#include "models/rng.hpp"
#include "models/stochastic.hpp"

namespace gradest::testing {

class BernoulliProblem final : public Objective {
 public:
  BernoulliProblem(Index latents, Index batch, std::uint64_t seed, Terms terms = Terms::likelihood)
      : k_(latents), B_(batch), terms_(terms) {
    Rng rng = Rng::stream(seed, {stable_hash("bernoulli-problem")});
    params_.resize(k_ + k_ * k_ + B_);
    for (Index i = 0; i < params_.size(); ++i) params_(i) = Real(rng.normal());
    grad_ = Vector::Zero(params_.size());
  }

  Terms terms() const override { return terms_; }
  Index batch() const override { return B_; }
  bool differentiable_in_z() const override { return true; }

  Vector& params() { return params_; }
  Vector& param_grad() { return grad_; }
  bool wrong_backward = false;

  // A node with logits drawn from N(0, 1) (a fixed function of the seed).
  StochasticNode node(std::uint64_t seed) const {
    Rng rng = Rng::stream(seed, {stable_hash("bernoulli-problem-node")});
    StochasticNode n;
    n.family = &latent_family(LatentKind::bernoulli);
    n.logits.resize(B_, k_);
    for (Index b = 0; b < B_; ++b)
      for (Index j = 0; j < k_; ++j) n.logits(b, j) = Real(rng.normal());
    return n;
  }

  void backward(int slot, const Vector& weight, Matrix* grad_z) override { backward(slot, weight, grad_z, true); }
  void gradient_in_z(int slot, const Vector& weight, Matrix& grad_z) override { backward(slot, weight, &grad_z, false); }

  void backward(int slot, const Vector& weight, Matrix* grad_z, bool parameters_too) {
    const Matrix& z = z_[slot];
    assert(weight.size() == z.rows());
    auto w = params_.head(k_);
    const ConstMatrixMap A(params_.data() + k_, k_, k_);
    if (grad_z) grad_z->resize(z.rows(), k_);
    const Real half = wrong_backward ? Real(1) : Real(0.5);
    for (Index r = 0; r < z.rows(); ++r) {
      const Index b = r % B_;
      const Real dh = Real(3) * (Real(1) - sigmoid(h_[slot](r)));
      const Real wr = weight(r);
      if (parameters_too) {
        grad_.head(k_) += wr * dh * z.row(r).transpose();
        MatrixMap dA(grad_.data() + k_, k_, k_);
        dA += wr * half * z.row(r).transpose() * z.row(r);
        grad_(k_ + k_ * k_ + b) += wr * dh;
      }
      if (grad_z) grad_z->row(r) = wr * (dh * w.transpose() + Real(0.5) * z.row(r) * (A + A.transpose()));
    }
  }

 protected:
  void do_evaluate(int slot, const Matrix& z, Vector& value) override {
    assert(z.cols() == k_ && z.rows() % B_ == 0);
    z_[slot] = z;
    auto w = params_.head(k_);
    const ConstMatrixMap A(params_.data() + k_, k_, k_);
    h_[slot].resize(z.rows());
    value.resize(z.rows());
    for (Index r = 0; r < z.rows(); ++r) {
      const Real h = z.row(r).dot(w) + params_(k_ + k_ * k_ + r % B_);
      h_[slot](r) = h;
      value(r) = Real(3) * log_sigmoid(h) + Real(0.5) * (z.row(r) * A * z.row(r).transpose())(0, 0);
    }
  }

 private:
  Index k_, B_;
  Terms terms_;
  Vector params_, grad_;
  Matrix z_[kSlots];
  Vector h_[kSlots];
};

}  // namespace gradest::testing
