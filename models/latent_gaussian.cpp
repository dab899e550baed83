// The Gaussian family: q(z_j | x) = N(mean_j, exp(log_var_j)), prior N(0, I) (no parameters).
//   encoder output [mean (k) | log_var (k)];  z = mean + exp(log_var / 2) eps,  eps ~ N(0, I)
//   log q = -0.5 sum_j (log 2 pi + log_var_j + (z_j - mean_j)^2 / var_j)
//   score: d/dmean = (z - mean) / var,  d/dlog_var = 0.5 ((z - mean)^2 / var - 1)
//   KL_j = 0.5 (mean^2 + exp(log_var) - 1 - log_var);  dKL/dmean = mean, dKL/dlog_var = 0.5 (exp(log_var) - 1)
#include <cassert>
#include <numbers>

#include "models/latent_family.hpp"

namespace gradest {

namespace {

constexpr double kHalfLog2Pi = 0.91893853320467274178;  // 0.5 log(2 pi)

class GaussianFamily final : public LatentFamily {
 public:
  LatentKind kind() const override { return LatentKind::gaussian; }
  Index encoder_outputs(Index k) const override { return 2 * k; }
  Index prior_parameters(Index) const override { return 0; }

  void node_from_encoder(Matrix& out, StochasticNode& node) const override {
    const Index k = out.cols() / 2;
    node.family = this;
    node.mean = out.leftCols(k);
    node.log_var = out.rightCols(k);
    node.logits.resize(0, 0);
  }
  const Matrix& encoder_gradient(const NodeGradient& grad, Matrix& scratch) const override {
    const Index k = grad.d_mean.cols();
    scratch.resize(grad.d_mean.rows(), 2 * k);
    scratch.leftCols(k) = grad.d_mean;
    scratch.rightCols(k) = grad.d_log_var;
    return scratch;
  }
  Index batch(const StochasticNode& node) const override { return node.mean.rows(); }
  Index dim(const StochasticNode& node) const override { return node.mean.cols(); }
  void reset_gradient(const StochasticNode& node, NodeGradient& grad) const override {
    grad.d_logits.resize(0, 0);
    grad.d_mean.setZero(node.mean.rows(), node.mean.cols());
    grad.d_log_var.setZero(node.log_var.rows(), node.log_var.cols());
  }

  void sample(const StochasticNode& node, int samples, Rng& rng, Matrix& z, Matrix& noise) const override {
    const Index B = node.batch(), k = node.dim();
    noise.resize(B * samples, k);
    z.resize(B * samples, k);
    rng.fill_normal(noise);
    const Matrix sd = (node.log_var.array() * Real(0.5)).exp().matrix();
    for (int s = 0; s < samples; ++s)
      z.middleRows(s * B, B) = (node.mean.array() + sd.array() * noise.middleRows(s * B, B).array()).matrix();
  }

  void log_prob(const StochasticNode& node, const Matrix& z, Vector& out) const override {
    const Index B = node.batch();
    assert(z.rows() % B == 0 && z.cols() == node.dim());
    out.resize(z.rows());
    const Index samples = z.rows() / B;
    const Real log_2pi = Real(std::log(2.0 * std::numbers::pi));
    const Matrix inv_var = (-node.log_var.array()).exp().matrix();
    const Matrix constant = (node.log_var.array() + log_2pi).matrix();
    for (Index s = 0; s < samples; ++s) {
      const auto d = z.middleRows(s * B, B).array() - node.mean.array();
      out.segment(s * B, B) = Real(-0.5) * (constant.array() + d * d * inv_var.array()).rowwise().sum().matrix();
    }
  }

  void accumulate_score(const StochasticNode& node, const Matrix& z, const Vector& weight,
                        NodeGradient& grad) const override {
    const Index B = node.batch();
    assert(z.rows() == weight.size() && z.rows() % B == 0);
    const Index samples = z.rows() / B;
    const Matrix inv_var = (-node.log_var.array()).exp().matrix();
    for (Index s = 0; s < samples; ++s) {
      const auto w = weight.segment(s * B, B).array();
      const auto d = (z.middleRows(s * B, B).array() - node.mean.array()) * inv_var.array();
      grad.d_mean.array() += d.colwise() * w;
      grad.d_log_var.array() +=
          (Real(0.5) * (d * (z.middleRows(s * B, B).array() - node.mean.array()) - Real(1))).colwise() * w;
    }
  }

  bool reparameterisable() const override { return true; }
  void accumulate_reparam(const StochasticNode& node, const Matrix& dz, const Matrix& eps,
                          NodeGradient& grad) const override {
    const Index B = node.batch();
    const Index samples = dz.rows() / B;
    const Matrix half_sd = (node.log_var.array() * Real(0.5)).exp() * Real(0.5);
    for (Index s = 0; s < samples; ++s) {
      grad.d_mean += dz.middleRows(s * B, B);
      grad.d_log_var.array() += dz.middleRows(s * B, B).array() * eps.middleRows(s * B, B).array() * half_sd.array();
    }
  }

  void posterior_mean(const StochasticNode& node, Matrix& mean) const override { mean = node.mean; }

  void add_log_prior(ConstVectorMap, const Matrix& z, VectorD& acc) const override {
    const Index k = z.cols();
    for (Index j = 0; j < k; ++j) acc.array() -= 0.5 * z.col(j).template cast<double>().array().square();
    acc.array() -= double(k) * kHalfLog2Pi;
  }
  void log_prior_backward(ConstVectorMap, const Matrix& z, const Vector& weight, VectorMap,
                          Matrix* grad_z) const override {
    if (grad_z) grad_z->array() -= z.array().colwise() * weight.array();
  }
  void sample_prior(ConstVectorMap, Index n, Index k, Rng& rng, Matrix& z) const override {
    z.resize(n, k);
    rng.fill_normal(z);
  }

  void kl(const StochasticNode& node, ConstVectorMap, Matrix& kl, Matrix&) const override {
    kl.resize(node.batch(), node.dim());
    kl.array() = Real(0.5) * (node.mean.array().square() + node.log_var.array().exp() - Real(1) - node.log_var.array());
  }
  void kl_backward(const StochasticNode& node, ConstVectorMap, const Matrix& weight, NodeGradient& grad, VectorMap,
                   Matrix&) const override {
    grad.d_mean.array() -= weight.array() * node.mean.array();
    grad.d_log_var.array() -= weight.array() * Real(0.5) * (node.log_var.array().exp() - Real(1));
  }
};

}  // namespace

const LatentFamily& gaussian_family() {
  static const GaussianFamily family;
  return family;
}

}  // namespace gradest
