// The Bernoulli family: q(z_j = 1 | x) = sigmoid(l_j), prior Bern(sigmoid(a_j)) with learnable
// logits a (the model's "prior" parameter group).
//   encoder output: the logits l (k);  z = [u < sigmoid(l)],  u ~ U(0, 1)
//   log q = sum_j z_j l_j - softplus(l_j);  score d/dl = z - sigmoid(l)
//   log p(z) = sum_j z_j a_j - softplus(a_j);  d/da = z - sigmoid(a),  d/dz = a
//   KL_j = q (l - a) - softplus(l) + softplus(a),  q = sigmoid(l)
//   dKL/dl = q (1 - q) (l - a),  dKL/da = sigmoid(a) - q
#include <cassert>
#include <cmath>

#include "models/distributions.hpp"
#include "models/latent_family.hpp"

namespace gradest {

namespace {

class BernoulliFamily final : public LogitsFamily {
 public:
  LatentKind kind() const override { return LatentKind::bernoulli; }
  Index encoder_outputs(Index k) const override { return k; }
  Index prior_parameters(Index k) const override { return k; }
  bool binary() const override { return true; }
  int support_size() const override { return 2; }

  void configuration(std::uint64_t index, Index k, Real* row) const override {
    for (Index j = 0; j < k; ++j) row[j] = Real((index >> j) & 1u);
  }
  void add_configuration_score(const StochasticNode& node, Index b, std::uint64_t index, double coeff,
                               NodeGradient& grad) const override {
    for (Index j = 0; j < node.dim(); ++j) {
      const double zj = double((index >> j) & 1u);
      grad.d_logits(b, j) += Real(coeff * (zj - sigmoid(double(node.logits(b, j)))));
    }
  }

  Index dim(const StochasticNode& node) const override { return node.logits.cols(); }

  void sample(const StochasticNode& node, int samples, Rng& rng, Matrix& z, Matrix& noise) const override {
    const Index B = node.batch(), k = node.dim();
    noise.resize(B * samples, k);
    z.resize(B * samples, k);
    rng.fill_uniform(noise);
    const Matrix p = sigmoid_array(node.logits.array()).matrix();
    for (int s = 0; s < samples; ++s)
      z.middleRows(s * B, B) = (noise.middleRows(s * B, B).array() < p.array()).cast<Real>().matrix();
  }

  void log_prob(const StochasticNode& node, const Matrix& z, Vector& out) const override {
    const Index B = node.batch();
    assert(z.rows() % B == 0 && z.cols() == node.dim());
    out.resize(z.rows());
    const Index samples = z.rows() / B;
    // z log sigmoid(l) + (1 - z) log sigmoid(-l) = z l - softplus(l)
    const Matrix softplus_l = (node.logits.array().max(Real(0)) + (-node.logits.array().abs()).exp().log1p()).matrix();
    for (Index s = 0; s < samples; ++s)
      out.segment(s * B, B) =
          (z.middleRows(s * B, B).array() * node.logits.array() - softplus_l.array()).rowwise().sum().matrix();
  }

  void accumulate_score(const StochasticNode& node, const Matrix& z, const Vector& weight,
                        NodeGradient& grad) const override {
    const Index B = node.batch();
    assert(z.rows() == weight.size() && z.rows() % B == 0);
    const Index samples = z.rows() / B;
    const Matrix p = sigmoid_array(node.logits.array()).matrix();
    for (Index s = 0; s < samples; ++s)
      grad.d_logits.array() +=
          (z.middleRows(s * B, B).array() - p.array()).colwise() * weight.segment(s * B, B).array();
  }

  void posterior_mean(const StochasticNode& node, Matrix& mean) const override {
    mean.resize(node.logits.rows(), node.logits.cols());
    for (Index j = 0; j < mean.cols(); ++j)
      for (Index b = 0; b < mean.rows(); ++b) mean(b, j) = sigmoid(node.logits(b, j));
  }

  void add_log_prior(ConstVectorMap a, const Matrix& z, VectorD& acc) const override {
    const Index k = z.cols();
    double log_normaliser = 0;
    for (Index j = 0; j < k; ++j) log_normaliser += double(softplus(a(j)));
    for (Index j = 0; j < k; ++j) acc += double(a(j)) * z.col(j).template cast<double>();
    acc.array() -= log_normaliser;
  }
  void log_prior_backward(ConstVectorMap a, const Matrix& z, const Vector& weight, VectorMap d_a,
                          Matrix* grad_z) const override {
    const Real weight_sum = weight.sum();
    for (Index j = 0; j < z.cols(); ++j) d_a(j) += z.col(j).dot(weight) - sigmoid(a(j)) * weight_sum;
    if (grad_z) grad_z->noalias() += weight * a.transpose();
  }
  void sample_prior(ConstVectorMap a, Index n, Index k, Rng& rng, Matrix& z) const override {
    z.resize(n, k);
    rng.fill_uniform(z);
    for (Index j = 0; j < k; ++j) {
      const Real p = sigmoid(a(j));
      for (Index r = 0; r < n; ++r) z(r, j) = z(r, j) < p ? Real(1) : Real(0);
    }
  }

  void kl(const StochasticNode& node, ConstVectorMap a, Matrix& kl, Matrix& probability) const override {
    // KL = q (l - a) - softplus(l) + softplus(a), rearranged so that no two large terms cancel:
    //   q l - max(l, 0) = -sigmoid(-|l|) |l|,   -q a + max(a, 0) = (a >= 0 ? (1 - q) a : -q a),
    //   KL = -sigmoid(-|l|) |l| - log(1 + e^-|l|) + (a >= 0 ? sigmoid(-l) a : -sigmoid(l) a) + log1p(e^-|a|).
    // Whole-matrix exp/log first (vectorised without per-column remainders), then the broadcasts.
    const Index B = node.batch(), k = node.dim();
    kl.resize(B, k);
    const auto l = node.logits.array();
    probability.resize(B, k);
    kl.array() = (-l.abs()).exp();
    kl.array() = -(kl.array() / (Real(1) + kl.array())) * l.abs() - (Real(1) + kl.array()).log();
    for (Index j = 0; j < k; ++j) {
      const Real aj = a(j);
      const Real tail = std::log1p(std::exp(-std::abs(aj)));
      if (aj >= 0) {
        probability.col(j).array() = sigmoid_array(-node.logits.col(j).array());  // 1 - q
        kl.col(j).array() += probability.col(j).array() * aj + tail;
      } else {
        probability.col(j).array() = sigmoid_array(node.logits.col(j).array());  // q
        kl.col(j).array() += probability.col(j).array() * (-aj) + tail;
      }
    }
  }
  void kl_backward(const StochasticNode& node, ConstVectorMap a, const Matrix& weight, NodeGradient& grad,
                   VectorMap d_a, Matrix& probability) const override {
    const Index k = node.dim();
    probability.resize(node.batch(), k);
    probability.array() = sigmoid_array(node.logits.array());
    for (Index j = 0; j < k; ++j) {
      auto q = probability.col(j).array();
      auto w = weight.col(j).array();
      grad.d_logits.col(j).array() -= w * q * (Real(1) - q) * (node.logits.col(j).array() - a(j));
      d_a(j) -= (w * (sigmoid(a(j)) - q)).sum();
    }
  }

  bool relaxable() const override { return true; }
  void relaxed_sample(const StochasticNode& node, int samples, double tau, Rng& rng, Matrix& z,
                      Matrix& u) const override {
    const Index B = node.batch(), k = node.dim(), rows = Index(samples) * B;
    u.resize(rows, k);
    rng.fill_uniform_open(u);
    z.resize(rows, k);
    for (Index j = 0; j < k; ++j)
      for (Index r = 0; r < rows; ++r) {
        const double logistic = std::log(double(u(r, j))) - std::log1p(-double(u(r, j)));
        z(r, j) = Real(sigmoid((double(node.logits(r % B, j)) + logistic) / tau));
      }
  }
  void accumulate_relaxed(const StochasticNode& node, const Matrix& dz, const Matrix& z, double tau,
                          NodeGradient& grad) const override {
    const Index B = node.batch();
    for (Index j = 0; j < z.cols(); ++j)
      for (Index r = 0; r < z.rows(); ++r)
        grad.d_logits(r % B, j) += dz(r, j) * z(r, j) * (Real(1) - z(r, j)) / Real(tau);
  }
  void harden(const Matrix& relaxed, Matrix& hard) const override {
    hard = (relaxed.array() > Real(0.5)).cast<Real>().matrix();
  }
  void accumulate_mean_pathwise(const StochasticNode& node, const Matrix& dz, NodeGradient& grad) const override {
    const Index B = node.batch();
    for (Index j = 0; j < dz.cols(); ++j)
      for (Index r = 0; r < dz.rows(); ++r) {
        const Real p = sigmoid(node.logits(r % B, j));
        grad.d_logits(r % B, j) += dz(r, j) * p * (Real(1) - p);
      }
  }

  // Values c = 0, 1 of latent j in columns 2j, 2j + 1.
  void value_log_probs(const StochasticNode& node, MatrixD& log_q) const override {
    log_q.resize(node.batch(), 2 * node.dim());
    for (Index j = 0; j < node.dim(); ++j)
      for (Index b = 0; b < node.batch(); ++b) {
        log_q(b, 2 * j) = log_sigmoid(-double(node.logits(b, j)));
        log_q(b, 2 * j + 1) = log_sigmoid(double(node.logits(b, j)));
      }
  }
  void set_value(Matrix& z, Index r, Index j, int c) const override { z(r, j) = Real(c); }
  void add_value_expectation_gradient(const StochasticNode& node, Index b, Index j, const double* values,
                                      NodeGradient& grad) const override {
    const double p = sigmoid(double(node.logits(b, j)));
    grad.d_logits(b, j) += Real(p * (1 - p) * (values[1] - values[0]));
  }
};

}  // namespace

const LatentFamily& bernoulli_family() {
  static const BernoulliFamily family;
  return family;
}

}  // namespace gradest
