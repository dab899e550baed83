#include "models/distributions.hpp"

#include "models/latent_family.hpp"

namespace gradest {

Matrix repeat_rows(const Matrix& m, int samples) {
  Matrix out(m.rows() * samples, m.cols());
  for (int s = 0; s < samples; ++s) out.middleRows(s * m.rows(), m.rows()) = m;
  return out;
}

void sample_node(const StochasticNode& node, int samples, Rng& rng, Matrix& z, Matrix& noise) {
  node.family->sample(node, samples, rng, z, noise);
}

void log_prob(const StochasticNode& node, const Matrix& z, Vector& out) { node.family->log_prob(node, z, out); }

void accumulate_score(const StochasticNode& node, const Matrix& z, const Vector& weight, NodeGradient& grad) {
  node.family->accumulate_score(node, z, weight, grad);
}

void accumulate_reparam(const StochasticNode& node, const Matrix& dz, const Matrix& eps, NodeGradient& grad) {
  node.family->accumulate_reparam(node, dz, eps, grad);
}

}  // namespace gradest
