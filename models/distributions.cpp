#include "models/distributions.hpp"

#include <cassert>
#include <numbers>

namespace gradest {

Matrix repeat_rows(const Matrix& m, int samples) {
  Matrix out(m.rows() * samples, m.cols());
  for (int s = 0; s < samples; ++s) out.middleRows(s * m.rows(), m.rows()) = m;
  return out;
}

namespace {
// sigmoid(l) elementwise, vectorised; saturates to exactly 0 or 1 without NaN.
Matrix probabilities(const Matrix& logits) { return (Real(1) + (-logits.array()).exp()).inverse().matrix(); }
}  // namespace

void sample_node(const StochasticNode& node, int samples, Rng& rng, Matrix& z, Matrix& noise) {
  const Index B = node.batch(), k = node.dim();
  noise.resize(B * samples, k);
  z.resize(B * samples, k);
  if (node.kind == LatentKind::gaussian) {
    rng.fill_normal(noise);
    const Matrix sd = (node.log_var.array() * Real(0.5)).exp().matrix();
    for (int s = 0; s < samples; ++s)
      z.middleRows(s * B, B) = (node.mean.array() + sd.array() * noise.middleRows(s * B, B).array()).matrix();
  } else {
    rng.fill_uniform(noise);
    const Matrix p = probabilities(node.logits);
    for (int s = 0; s < samples; ++s)
      z.middleRows(s * B, B) = (noise.middleRows(s * B, B).array() < p.array()).cast<Real>().matrix();
  }
}

void log_prob(const StochasticNode& node, const Matrix& z, Vector& out) {
  const Index B = node.batch(), k = node.dim();
  assert(z.rows() % B == 0 && z.cols() == k);
  (void)k;
  out.resize(z.rows());
  const Index samples = z.rows() / B;
  if (node.kind == LatentKind::gaussian) {
    const Real log_2pi = Real(std::log(2.0 * std::numbers::pi));
    const Matrix inv_var = (-node.log_var.array()).exp().matrix();
    const Matrix constant = (node.log_var.array() + log_2pi).matrix();
    for (Index s = 0; s < samples; ++s) {
      const auto d = z.middleRows(s * B, B).array() - node.mean.array();
      out.segment(s * B, B) = Real(-0.5) * (constant.array() + d * d * inv_var.array()).rowwise().sum().matrix();
    }
  } else {
    // z log sigmoid(l) + (1 - z) log sigmoid(-l) = z l - softplus(l)
    const Matrix softplus_l =
        (node.logits.array().max(Real(0)) + (-node.logits.array().abs()).exp().log1p()).matrix();
    for (Index s = 0; s < samples; ++s)
      out.segment(s * B, B) =
          (z.middleRows(s * B, B).array() * node.logits.array() - softplus_l.array()).rowwise().sum().matrix();
  }
}

void accumulate_score(const StochasticNode& node, const Matrix& z, const Vector& weight, NodeGradient& grad) {
  const Index B = node.batch();
  assert(z.rows() == weight.size() && z.rows() % B == 0);
  const Index samples = z.rows() / B;
  if (node.kind == LatentKind::gaussian) {
    const Matrix inv_var = (-node.log_var.array()).exp().matrix();
    for (Index s = 0; s < samples; ++s) {
      const auto w = weight.segment(s * B, B).array();
      const auto d = (z.middleRows(s * B, B).array() - node.mean.array()) * inv_var.array();
      grad.d_mean.array() += d.colwise() * w;
      grad.d_log_var.array() += (Real(0.5) * (d * (z.middleRows(s * B, B).array() - node.mean.array()) - Real(1))).colwise() * w;
    }
  } else {
    const Matrix p = probabilities(node.logits);
    for (Index s = 0; s < samples; ++s)
      grad.d_logits.array() += (z.middleRows(s * B, B).array() - p.array()).colwise() * weight.segment(s * B, B).array();
  }
}

void accumulate_reparam(const StochasticNode& node, const Matrix& dz, const Matrix& eps, NodeGradient& grad) {
  assert(node.kind == LatentKind::gaussian);
  const Index B = node.batch();
  const Index samples = dz.rows() / B;
  const Matrix half_sd = (node.log_var.array() * Real(0.5)).exp() * Real(0.5);
  for (Index s = 0; s < samples; ++s) {
    grad.d_mean += dz.middleRows(s * B, B);
    grad.d_log_var.array() += dz.middleRows(s * B, B).array() * eps.middleRows(s * B, B).array() * half_sd.array();
  }
}

}  // namespace gradest
