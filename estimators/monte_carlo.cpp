#include "estimators/monte_carlo.hpp"

#include "models/distributions.hpp"

namespace gradest {

void evaluate_with_plain_gradient(Objective& objective, const Matrix& z, int rows_per_point, Vector& value,
                                  Vector& weight, Matrix* grad_z) {
  objective.evaluate(0, z, value);
  weight.setConstant(z.rows(), Real(1) / Real(rows_per_point));
  objective.backward(0, weight, grad_z);
}

void ScoreSamples::draw(const StochasticNode& node, Objective& objective, int samples, Rng& rng) {
  sample_node(node, samples, rng, z, noise);
  evaluate_with_plain_gradient(objective, z, samples, value, weight, nullptr);
}

void ScoreSamples::centre_per_point(Index batch, double divisor) {
  const Index S = value.size() / batch;
  for (Index b = 0; b < batch; ++b) {
    double mean = 0;
    for (Index s = 0; s < S; ++s) mean += value(s * batch + b);
    mean /= double(S);
    for (Index s = 0; s < S; ++s) weight(s * batch + b) = Real((value(s * batch + b) - mean) / divisor);
  }
}

void draw_antithetic_pairs(const StochasticNode& node, int samples, Rng& rng, Matrix& u, Matrix& z) {
  const Index B = node.batch(), k = node.dim(), rows = Index(samples) * B;
  u.resize(rows, k);
  rng.fill_uniform(u);
  z.resize(2 * rows, k);
  for (Index j = 0; j < k; ++j)
    for (Index r = 0; r < rows; ++r) {
      const Real p = sigmoid(node.logits(r % B, j));
      z(r, j) = u(r, j) < p ? Real(1) : Real(0);
      z(rows + r, j) = Real(1) - u(r, j) < p ? Real(1) : Real(0);
    }
}

}  // namespace gradest
