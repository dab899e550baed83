#include "models/distributions.hpp"

#include <cassert>
#include <numbers>

namespace gradest {

Matrix repeat_rows(const Matrix& m, int samples) {
  Matrix out(m.rows() * samples, m.cols());
  for (int s = 0; s < samples; ++s) out.middleRows(s * m.rows(), m.rows()) = m;
  return out;
}

void sample_node(const StochasticNode& node, int samples, Rng& rng, Matrix& z, Matrix& noise) {
  const Index B = node.batch(), k = node.dim();
  noise.resize(B * samples, k);
  z.resize(B * samples, k);
  if (node.kind == LatentKind::gaussian) {
    rng.fill_normal(noise);
    for (int s = 0; s < samples; ++s) {
      auto block = z.middleRows(s * B, B);
      block = node.mean.array() + (node.log_var.array() * Real(0.5)).exp() * noise.middleRows(s * B, B).array();
    }
  } else {
    rng.fill_uniform(noise);
    for (int s = 0; s < samples; ++s)
      for (Index j = 0; j < k; ++j)
        for (Index b = 0; b < B; ++b)
          z(s * B + b, j) = noise(s * B + b, j) < sigmoid(node.logits(b, j)) ? Real(1) : Real(0);
  }
}

void log_prob(const StochasticNode& node, const Matrix& z, Vector& out) {
  const Index B = node.batch(), k = node.dim();
  assert(z.rows() % B == 0 && z.cols() == k);
  out.setZero(z.rows());
  const Real half_log_2pi = Real(0.5 * std::log(2.0 * std::numbers::pi));
  for (Index j = 0; j < k; ++j)
    for (Index r = 0; r < z.rows(); ++r) {
      const Index b = r % B;
      if (node.kind == LatentKind::gaussian) {
        const Real d = z(r, j) - node.mean(b, j);
        out(r) -= half_log_2pi + Real(0.5) * node.log_var(b, j) + Real(0.5) * d * d * std::exp(-node.log_var(b, j));
      } else {
        const Real l = node.logits(b, j);
        out(r) += z(r, j) * log_sigmoid(l) + (Real(1) - z(r, j)) * log_sigmoid(-l);
      }
    }
}

void accumulate_score(const StochasticNode& node, const Matrix& z, const Vector& weight, NodeGradient& grad) {
  const Index B = node.batch(), k = node.dim();
  assert(z.rows() == weight.size() && z.rows() % B == 0);
  for (Index j = 0; j < k; ++j)
    for (Index r = 0; r < z.rows(); ++r) {
      const Index b = r % B;
      if (node.kind == LatentKind::gaussian) {
        const Real inv_var = std::exp(-node.log_var(b, j));
        const Real d = z(r, j) - node.mean(b, j);
        grad.d_mean(b, j) += weight(r) * d * inv_var;
        grad.d_log_var(b, j) += weight(r) * Real(0.5) * (d * d * inv_var - Real(1));
      } else {
        grad.d_logits(b, j) += weight(r) * (z(r, j) - sigmoid(node.logits(b, j)));
      }
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
