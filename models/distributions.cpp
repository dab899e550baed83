#include "models/distributions.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "models/latent_family.hpp"

namespace gradest {

namespace {

constexpr Index kLikelihoodGroup = 8;  // columns per group
using Array = Eigen::Array<Real, Eigen::Dynamic, 1>;

void check_bernoulli_shapes(const Matrix& x, const Matrix& g, const char* who) {
  const Index B = x.rows();
  if (x.cols() != g.cols() || B == 0 || g.rows() % B != 0)
    throw std::invalid_argument(fmt::format("{}: x ({} x {}) and logits ({} x {}) must have the same columns and "
                                            "a whole number of x's rows", who, x.rows(), x.cols(), g.rows(), g.cols()));
}

// The group's x as a contiguous column-major block of g's row count: x's own memory when S = 1,
// otherwise each column repeated S times into `buffer`.
const Real* repeated_group(const Matrix& x, Index R, Index first, Index columns, Array& buffer) {
  const Index B = x.rows();
  if (R == B) return x.data() + first * B;
  buffer.resize(columns * R);
  for (Index j = 0; j < columns; ++j)
    for (Index s = 0; s < R / B; ++s)
      std::copy_n(x.data() + (first + j) * B, B, buffer.data() + j * R + s * B);
  return buffer.data();
}

}  // namespace

void add_bernoulli_log_likelihood_rows(const Matrix& x, const Matrix& g, VectorD& acc) {
  check_bernoulli_shapes(x, g, "add_bernoulli_log_likelihood_rows");
  const Index R = g.rows(), D = g.cols();
  if (acc.size() != R) throw std::invalid_argument("add_bernoulli_log_likelihood_rows: acc must have the logits' rows");
  thread_local Array linear, factor, product, repeated;
  linear.resize(R * kLikelihoodGroup);
  factor.resize(R * kLikelihoodGroup);
  product.resize(R);
  double* a = acc.data();
  for (Index first = 0; first < D; first += kLikelihoodGroup) {
    const Index columns = std::min(kLikelihoodGroup, D - first), n = columns * R;
    Eigen::Map<const Array> xs(repeated_group(x, R, first, columns, repeated), n), gs(g.data() + first * R, n);
    linear.head(n) = xs * gs - gs.max(Real(0));
    factor.head(n) = Real(1) + (-gs.abs()).exp();
    product = factor.head(R);
    for (Index j = 1; j < columns; ++j) product *= factor.segment(j * R, R);
    product = product.log();
    for (Index j = 0; j < columns; ++j) {
      const Real* column = linear.data() + j * R;
      for (Index r = 0; r < R; ++r) a[r] += double(column[r]);
    }
    for (Index r = 0; r < R; ++r) a[r] -= double(product[r]);
  }
}

void bernoulli_log_likelihood_backward(const Matrix& x, const Matrix& g, const Vector& weight, Matrix& d_out) {
  check_bernoulli_shapes(x, g, "bernoulli_log_likelihood_backward");
  const Index R = g.rows(), D = g.cols();
  if (weight.size() != R) throw std::invalid_argument("bernoulli_log_likelihood_backward: weight must have the logits' rows");
  d_out.resize(R, D);
  thread_local Array repeated;
  for (Index first = 0; first < D; first += kLikelihoodGroup) {
    const Index columns = std::min(kLikelihoodGroup, D - first);
    ConstMatrixMap xs(repeated_group(x, R, first, columns, repeated), R, columns);
    auto block = d_out.middleCols(first, columns);
    block.array() = xs.array() - sigmoid_array(g.middleCols(first, columns).array());
    block.array().colwise() *= weight.array();
  }
}

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
