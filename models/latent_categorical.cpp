// The categorical family: k independent latents with C values each (Jang et al. 2017; Maddison et
// al. 2017; the categorical VAE of the DisARM/CARMS work uses k = 20, C = 10).
//   node.logits B x (k*C), latent j's logits l_j in columns j*C .. j*C + C - 1;
//   q(z_j = c | x) = softmax(l_j)_c = exp(l_jc - lse(l_j));  z one-hot per latent (k*C columns)
//   sampling by inversion: noise u_j ~ U(0, 1) (S*B x k), z_j = min{c : sum_{c' <= c} q_c' > u_j}
//   log q(z) = sum_j sum_c z_jc (l_jc - lse(l_j));  score d/dl_jc = z_jc - q_jc (one-hot z)
//   prior Cat(softmax(a_j)), a (k*C) learnable, a = 0 the uniform prior;
//   log p(z) = sum_j sum_c z_jc (a_jc - lse(a_j));  d/da_jc = z_jc - p_jc sum_c' z_jc';  d/dz_jc = a_jc - lse(a_j)
//   KL_j = sum_c q_c (log q_c - log p_c);  dKL/dl_c = q_c (log q_c - log p_c - KL_j);  dKL/da_c = p_c - q_c
// Enumeration: configuration index i sets z_j = (i / C^j) mod C; C^k configurations.
#include <cassert>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "models/latent_family.hpp"

namespace gradest {

namespace {

class CategoricalFamily final : public LogitsFamily {
 public:
  explicit CategoricalFamily(int categories) : C_(categories) {}

  LatentKind kind() const override { return LatentKind::categorical; }
  Index encoder_outputs(Index k) const override { return k * C_; }
  Index prior_parameters(Index k) const override { return k * C_; }
  Index sample_columns(Index k) const override { return k * C_; }
  int support_size() const override { return C_; }

  Index dim(const StochasticNode& node) const override { return node.logits.cols() / C_; }

  void sample(const StochasticNode& node, int samples, Rng& rng, Matrix& z, Matrix& noise) const override {
    const Index B = node.batch(), k = node.dim();
    Matrix q;
    softmax_rows(node.logits, q);
    noise.resize(B * samples, k);
    rng.fill_uniform(noise);
    z.setZero(B * samples, k * C_);
    for (Index r = 0; r < z.rows(); ++r)
      for (Index j = 0; j < k; ++j) z(r, j * C_ + invert(q, r % B, j, noise(r, j))) = Real(1);
  }

  void log_prob(const StochasticNode& node, const Matrix& z, Vector& out) const override {
    const Index B = node.batch();
    assert(z.rows() % B == 0 && z.cols() == node.logits.cols());
    Matrix log_q;
    log_softmax_rows(node.logits, log_q);
    out.resize(z.rows());
    for (Index r = 0; r < z.rows(); ++r) out(r) = z.row(r).dot(log_q.row(r % B));
  }

  void accumulate_score(const StochasticNode& node, const Matrix& z, const Vector& weight,
                        NodeGradient& grad) const override {
    const Index B = node.batch();
    assert(z.rows() == weight.size() && z.rows() % B == 0);
    Matrix q;
    softmax_rows(node.logits, q);
    for (Index r = 0; r < z.rows(); ++r) grad.d_logits.row(r % B) += weight(r) * (z.row(r) - q.row(r % B));
  }

  void posterior_mean(const StochasticNode& node, Matrix& mean) const override { softmax_rows(node.logits, mean); }

  void add_log_prior(ConstVectorMap a, const Matrix& z, VectorD& acc) const override {
    const Matrix log_p = log_softmax_prior(a);
    acc += (z * log_p.transpose()).col(0).cast<double>();
  }
  void log_prior_backward(ConstVectorMap a, const Matrix& z, const Vector& weight, VectorMap d_a,
                          Matrix* grad_z) const override {
    const Matrix log_p = log_softmax_prior(a);
    const RowVector p = log_p.array().exp().matrix();
    const RowVector weighted_z = weight.transpose() * z;  // sum_r w_r z_r
    for (Index j = 0; j < a.size() / C_; ++j) {
      const Real mass = weighted_z.segment(j * C_, C_).sum();  // sum_r w_r sum_c z_rjc
      d_a.segment(j * C_, C_) += (weighted_z.segment(j * C_, C_) - mass * p.segment(j * C_, C_)).transpose();
    }
    if (grad_z) grad_z->noalias() += weight * log_p;
  }
  void sample_prior(ConstVectorMap a, Index n, Index k, Rng& rng, Matrix& z) const override {
    const Matrix p = log_softmax_prior(a).array().exp().matrix();
    z.setZero(n, k * C_);
    for (Index r = 0; r < n; ++r)
      for (Index j = 0; j < k; ++j) z(r, j * C_ + invert(p, 0, j, Real(rng.uniform()))) = Real(1);
  }

  void kl(const StochasticNode& node, ConstVectorMap a, Matrix& kl, Matrix& log_q) const override {
    const Index B = node.batch(), k = node.dim();
    log_softmax_rows(node.logits, log_q);
    const Matrix log_p = log_softmax_prior(a);
    kl.resize(B, k);
    for (Index b = 0; b < B; ++b)
      for (Index j = 0; j < k; ++j) {
        double sum = 0;
        for (Index c = j * C_; c < (j + 1) * C_; ++c)
          sum += std::exp(double(log_q(b, c))) * (double(log_q(b, c)) - double(log_p(0, c)));
        kl(b, j) = Real(sum);
      }
  }
  void kl_backward(const StochasticNode& node, ConstVectorMap a, const Matrix& weight, NodeGradient& grad,
                   VectorMap d_a, Matrix& log_q) const override {
    const Index B = node.batch(), k = node.dim();
    log_softmax_rows(node.logits, log_q);
    const Matrix log_p = log_softmax_prior(a);
    for (Index b = 0; b < B; ++b)
      for (Index j = 0; j < k; ++j) {
        double kl = 0;
        for (Index c = j * C_; c < (j + 1) * C_; ++c)
          kl += std::exp(double(log_q(b, c))) * (double(log_q(b, c)) - double(log_p(0, c)));
        const double w = double(weight(b, j));
        for (Index c = j * C_; c < (j + 1) * C_; ++c) {
          const double q = std::exp(double(log_q(b, c)));
          grad.d_logits(b, c) -= Real(w * q * (double(log_q(b, c)) - double(log_p(0, c)) - kl));
          d_a(c) -= Real(w * (std::exp(double(log_p(0, c))) - q));
        }
      }
  }

  bool relaxable() const override { return true; }
  void relaxed_sample(const StochasticNode& node, int samples, double tau, Rng& rng, Matrix& z,
                      Matrix& u) const override {
    const Index B = node.batch(), rows = Index(samples) * B;
    u.resize(rows, node.logits.cols());
    rng.fill_uniform_open(u);
    z.resize(rows, node.logits.cols());
    std::vector<double> y(std::size_t(C_), 0.0);
    for (Index r = 0; r < rows; ++r)
      for (Index j = 0; j < node.logits.cols() / C_; ++j) {
        double max = -INFINITY;
        for (Index c = 0; c < C_; ++c) {
          const double gumbel = -std::log(-std::log(double(u(r, j * C_ + c))));
          y[c] = (double(node.logits(r % B, j * C_ + c)) + gumbel) / tau;
          max = std::max(max, y[c]);
        }
        double sum = 0;
        for (Index c = 0; c < C_; ++c) sum += (y[c] = std::exp(y[c] - max));
        for (Index c = 0; c < C_; ++c) z(r, j * C_ + c) = Real(y[c] / sum);
      }
  }
  void accumulate_relaxed(const StochasticNode& node, const Matrix& dz, const Matrix& z, double tau,
                          NodeGradient& grad) const override {
    accumulate_softmax_jacobian(node.batch(), dz, z, 1 / tau, grad);
  }
  void harden(const Matrix& relaxed, Matrix& hard) const override {
    hard.setZero(relaxed.rows(), relaxed.cols());
    for (Index r = 0; r < relaxed.rows(); ++r)
      for (Index j = 0; j < relaxed.cols() / C_; ++j) {
        Index best = 0;
        for (Index c = 1; c < C_; ++c)
          if (relaxed(r, j * C_ + c) > relaxed(r, j * C_ + best)) best = c;
        hard(r, j * C_ + best) = Real(1);
      }
  }
  void accumulate_mean_pathwise(const StochasticNode& node, const Matrix& dz, NodeGradient& grad) const override {
    Matrix q;
    softmax_rows(node.logits, q);
    const Index B = node.batch();
    for (Index s = 0; s < dz.rows() / B; ++s) accumulate_softmax_jacobian(B, dz.middleRows(s * B, B), q, 1, grad);
  }

  void value_log_probs(const StochasticNode& node, MatrixD& log_q) const override {
    Matrix out;
    log_softmax_rows(node.logits, out, &log_q);
  }
  void set_value(Matrix& z, Index r, Index j, int c) const override {
    for (Index v = 0; v < C_; ++v) z(r, j * C_ + v) = Real(v == c);
  }
  void add_value_expectation_gradient(const StochasticNode& node, Index b, Index j, const double* values,
                                      NodeGradient& grad) const override {
    // d/dl_c sum_c' q_c' v_c' = q_c (v_c - sum_c' q_c' v_c')
    const auto logit = [&](Index c) { return double(node.logits(b, j * C_ + c)); };
    double max = -INFINITY, sum = 0, mean = 0;
    for (Index c = 0; c < C_; ++c) max = std::max(max, logit(c));
    for (Index c = 0; c < C_; ++c) sum += std::exp(logit(c) - max);
    for (Index c = 0; c < C_; ++c) mean += std::exp(logit(c) - max) / sum * values[c];
    for (Index c = 0; c < C_; ++c)
      grad.d_logits(b, j * C_ + c) += Real(std::exp(logit(c) - max) / sum * (values[c] - mean));
  }

  void configuration(std::uint64_t index, Index k, Real* row) const override {
    for (Index j = 0; j < k; ++j, index /= std::uint64_t(C_))
      for (Index c = 0; c < C_; ++c) row[j * C_ + c] = Real(Index(index % std::uint64_t(C_)) == c);
  }
  void add_configuration_score(const StochasticNode& node, Index b, std::uint64_t index, double coeff,
                               NodeGradient& grad) const override {
    for (Index j = 0; j < node.dim(); ++j, index /= std::uint64_t(C_)) {
      const Index value = Index(index % std::uint64_t(C_));
      double max = -INFINITY, sum = 0;
      for (Index c = 0; c < C_; ++c) max = std::max(max, double(node.logits(b, j * C_ + c)));
      for (Index c = 0; c < C_; ++c) sum += std::exp(double(node.logits(b, j * C_ + c)) - max);
      for (Index c = 0; c < C_; ++c) {
        const double q = std::exp(double(node.logits(b, j * C_ + c)) - max) / sum;
        grad.d_logits(b, j * C_ + c) += Real(coeff * ((c == value ? 1.0 : 0.0) - q));
      }
    }
  }

 private:
  // Row-wise log-softmax over each latent's block of C columns, in double, rounded once (and kept
  // in double in `exact` when it is given).
  void log_softmax_rows(const Matrix& logits, Matrix& out, MatrixD* exact = nullptr) const {
    out.resize(logits.rows(), logits.cols());
    if (exact) exact->resize(logits.rows(), logits.cols());
    for (Index r = 0; r < logits.rows(); ++r)
      for (Index j = 0; j < logits.cols() / C_; ++j) {
        double max = -INFINITY, sum = 0;
        for (Index c = j * C_; c < (j + 1) * C_; ++c) max = std::max(max, double(logits(r, c)));
        for (Index c = j * C_; c < (j + 1) * C_; ++c) sum += std::exp(double(logits(r, c)) - max);
        const double lse = max + std::log(sum);
        for (Index c = j * C_; c < (j + 1) * C_; ++c) {
          out(r, c) = Real(double(logits(r, c)) - lse);
          if (exact) (*exact)(r, c) = double(logits(r, c)) - lse;
        }
      }
  }
  // grad_b += scale * p_r .* (dz_r - <dz_r, p_r>) per latent block, for the rows r of dz (data
  // point r mod B) and probabilities p (rows of p match dz's): the softmax Jacobian applied to dz.
  template <class Dz>
  void accumulate_softmax_jacobian(Index B, const Dz& dz, const Matrix& p, double scale, NodeGradient& grad) const {
    for (Index r = 0; r < dz.rows(); ++r)
      for (Index j = 0; j < dz.cols() / C_; ++j) {
        double dot = 0;
        for (Index c = j * C_; c < (j + 1) * C_; ++c) dot += double(dz(r, c)) * double(p(r, c));
        for (Index c = j * C_; c < (j + 1) * C_; ++c)
          grad.d_logits(r % B, c) += Real(scale * double(p(r, c)) * (double(dz(r, c)) - dot));
      }
  }
  void softmax_rows(const Matrix& logits, Matrix& out) const {
    log_softmax_rows(logits, out);
    out = out.array().exp().matrix();
  }
  Matrix log_softmax_prior(ConstVectorMap a) const {
    Matrix log_p;
    log_softmax_rows(a.transpose(), log_p);
    return log_p;
  }
  // The value c of latent j whose cumulative probability first exceeds u (the last one when
  // rounding leaves the total below u).
  Index invert(const Matrix& q, Index row, Index j, Real u) const {
    double cumulative = 0;
    for (Index c = 0; c < C_; ++c) {
      cumulative += double(q(row, j * C_ + c));
      if (double(u) < cumulative) return c;
    }
    return C_ - 1;
  }

  int C_;
};

}  // namespace

const LatentFamily& categorical_family(int categories) {
  if (categories < 2) throw std::invalid_argument("categorical latents need at least 2 categories");
  static std::mutex mutex;
  static std::map<int, std::unique_ptr<CategoricalFamily>> families;
  const std::lock_guard lock(mutex);
  auto& family = families[categories];
  if (!family) family = std::make_unique<CategoricalFamily>(categories);
  return *family;
}

}  // namespace gradest
