#include "estimators/relax.hpp"

#include <cmath>
#include <stdexcept>
#include <vector>

#include "models/distributions.hpp"
#include "models/network.hpp"
#include "models/optimizer.hpp"
#include "models/parameters.hpp"

namespace gradest {

const EstimatorInfo Relax::kInfo{
    .name = "relax",
    .summary =
        "rebar's control variate plus a learned surrogate MLP r(z), tuned to the variance (Grathwohl et al. 2018)",
    .formula = "[f(b) - c(z~)] dlog q(b) + dc(z)/dth - dc(z~)/dth, c = eta f(sig(z/lambda)) + r(z)",
    .target = Target::expectation,
    .unbiased = true,
    .families = {LatentKind::bernoulli},
    .needs_dz = true,
    .min_samples = 1,
    .cost = "3S",
};

struct Relax::Learned {
  Parameters params;
  std::unique_ptr<Network> network;
  std::unique_ptr<Optimizer> optimizer;
};

Relax::Relax(EstimatorOptions options) : Estimator(std::move(options)) {
  cv_[0] = options_.real(kScale);
  cv_[1] = std::log(options_.real(kTemperature));
}

Relax::~Relax() = default;

double Relax::scale() const { return cv_[0]; }
double Relax::temperature() const { return std::exp(cv_[1]); }
Network* Relax::surrogate() { return learned_ ? learned_->network.get() : nullptr; }
Parameters* Relax::surrogate_parameters() { return learned_ ? &learned_->params : nullptr; }

EstimatorDiagnostics Relax::diagnostics() const {
  EstimatorDiagnostics d;
  d.temperature = temperature();
  d.scale = scale();
  if (have_loss_) d.baseline_loss = last_loss_;
  return d;
}

void Relax::init_surrogate(int inputs, Rng& rng) {
  learned_ = std::make_unique<Learned>();
  learned_->network = std::make_unique<Network>(learned_->params, "surrogate", inputs, 1,
                                                NetworkSpec{options_.integers(kHidden), Activation::tanh});
  Network& net = *learned_->network;
  net.init(rng);
  net.weight(net.layers() - 1).setZero();  // r = 0 at the start: relax begins as rebar
  OptimizerOptions adam;
  adam.lr.initial = options_.real(kLr);
  learned_->optimizer = Optimizer::make(adam, learned_->params.size());
  d_surrogate_.setZero(learned_->params.size());
}

double Relax::surrogate_value(double z, double* slope) const {
  if (slope) *slope = 0;
  if (!learned_) return 0;
  // In double and forward mode (value and d/dz together): the exact moments integrate this to 1e-13,
  // which the network's Real (float) forward cannot resolve.
  Network& net = *learned_->network;
  if (net.in() != 1) throw std::invalid_argument("relax: surrogate_value needs a one-input surrogate");
  std::vector<double> h{z}, dh{1.0};
  for (int l = 0; l < net.layers(); ++l) {
    const auto w = net.weight(l);
    const auto b = net.bias(l);
    std::vector<double> a(std::size_t(w.cols())), da(std::size_t(w.cols()));
    for (Index o = 0; o < w.cols(); ++o) {
      a[o] = b(o);
      da[o] = 0;
      for (Index i = 0; i < w.rows(); ++i) {
        a[o] += h[i] * double(w(i, o));
        da[o] += dh[i] * double(w(i, o));
      }
      if (l + 1 < net.layers()) {  // the surrogate's hidden layers are tanh
        a[o] = std::tanh(a[o]);
        da[o] *= 1 - a[o] * a[o];
      }
    }
    h.swap(a);
    dh.swap(da);
  }
  if (slope) *slope = dh[0];
  return h[0];
}

void Relax::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  if (!objective.differentiable_in_z())
    throw std::invalid_argument("relax needs an objective differentiable in z (a relaxed decoder)");
  const bool adapt_temperature = options_.boolean(kAdaptTemperature);
  const int S = options_.samples;
  const Index B = node.batch(), k = node.dim(), R = Index(S) * B;
  const double eta = scale(), lambda = temperature();
  ConcreteRelaxation& cr = relaxation_;
  cr.draw(node, S, lambda, rng);
  if (!cr.evaluate(objective, S, lambda, adapt_temperature))
    throw std::invalid_argument(
        "relax: adapt-temperature needs the objective's second derivatives in z, which this model does not give; "
        "allowed: adapt-temperature = false");

  // The surrogate r at z (network slot 0) and z~ (slot 1), its value and input gradient.
  Network* net = surrogate();
  const Matrix* data = options_.boolean(kData) ? objective.inputs() : nullptr;
  if (options_.boolean(kData) && !data)
    throw std::invalid_argument("relax: surrogate-data needs an objective with data; allowed: surrogate-data = false");
  if (data && data->rows() != B)
    throw std::invalid_argument("relax: objective inputs() must have one row per data point");
  const Index D = data ? data->cols() : 0;
  last_inputs_ = D;
  if (net) {
    if (net->in() != k + D)
      throw std::invalid_argument("relax: the surrogate was built for another number of latents or data columns");
    input_.resize(R, k + D);
    input_tilde_.resize(R, k + D);
    input_.leftCols(k) = cr.z;
    input_tilde_.leftCols(k) = cr.z_tilde;
    for (Index r = 0; r < R && D > 0; ++r) {
      input_.row(r).tail(D) = data->row(r % B);
      input_tilde_.row(r).tail(D) = data->row(r % B);
    }
    const Matrix ones = Matrix::Ones(R, 1);
    net->forward(0, input_, r_out_);
    net->backward_input(0, ones, r_slope_);
    net->forward(1, input_tilde_, r_out_tilde_);
    net->backward_input(1, ones, r_slope_tilde_);
  }

  // Per data point: the estimate g (B x k), and d g/d eta, d g/d lambda.
  MatrixD g = MatrixD::Zero(B, k), dg_eta = MatrixD::Zero(B, k), dg_lambda = MatrixD::Zero(B, k);
  const double inv_S = 1.0 / S;
  for (Index r = 0; r < R; ++r) {
    const Index d = r % B;
    const double f_b = cr.value_b(r);
    const double tilde_along = adapt_temperature ? cr.tilde_along(r) : 0.0;
    for (Index j = 0; j < k; ++j) {
      const double score = double(cr.b(r, j)) - sigmoid(double(node.logits(d, j)));
      const auto cv = cr.control_variate(r, j, score, lambda, adapt_temperature, tilde_along);
      double learned = 0;  // -r(z~) score + r'_j(z) - r'_j(z~) dz~_j/dtheta_j
      if (net)
        learned = -double(r_out_tilde_(r, 0)) * score + double(r_slope_(r, j)) -
                  double(r_slope_tilde_(r, j)) * double(cr.dz_tilde(r, j));
      g(d, j) += inv_S * (f_b * score + eta * cv.cv + learned);
      dg_eta(d, j) += inv_S * cv.cv;
      if (adapt_temperature) dg_lambda(d, j) += inv_S * eta * cv.dcv_lambda;
    }
  }
  grad.d_logits += g.cast<Real>();
  d_scale_ = 2 * (g.array() * dg_eta.array()).sum();
  d_log_temperature_ = adapt_temperature ? 2 * lambda * (g.array() * dg_lambda.array()).sum() : 0.0;

  if (net) {
    // d/d rho of sum_{b,j} G_bj^2 with W = 2 G / S: r's value at z~ weighted by -(W_b . score_r), and
    // the directional derivatives r'(z) . W_b and r'(z~) . (-(W_b o dz~/dtheta)) (zero along the data).
    d_out_.resize(R, 1);
    direction_.setZero(R, k + D);
    Matrix direction_tilde = Matrix::Zero(R, k + D);
    for (Index r = 0; r < R; ++r) {
      const Index d = r % B;
      double weighted_score = 0;
      for (Index j = 0; j < k; ++j) {
        const double w = 2 * g(d, j) * inv_S;
        weighted_score += w * (double(cr.b(r, j)) - sigmoid(double(node.logits(d, j))));
        direction_(r, j) = Real(w);
        direction_tilde(r, j) = Real(-w * double(cr.dz_tilde(r, j)));
      }
      d_out_(r, 0) = Real(-weighted_score);
    }
    d_surrogate_.setZero(learned_->params.size());
    const Matrix ones = Matrix::Ones(R, 1);
    net->backward(1, d_out_, d_surrogate_, nullptr);
    net->backward_directional(0, direction_, ones, d_surrogate_);
    net->backward_directional(1, direction_tilde, ones, d_surrogate_);
  }
  last_loss_ = g.squaredNorm() / double(B);
  have_loss_ = true;
  last_batch_ = double(B);
  pending_ = true;
}

void Relax::learn(Rng& rng) {
  if (!pending_) return;
  pending_ = false;
  const bool adapt_scale = options_.boolean(kAdaptScale), adapt_temperature = options_.boolean(kAdaptTemperature);
  if (adapt_scale || adapt_temperature) {
    if (!optimizer_) {
      OptimizerOptions adam;
      adam.lr.initial = options_.real(kLr);
      optimizer_ = Optimizer::make(adam, 2);
    }
    // Descent on the second moment: the optimisers ascend, so the gradient goes in negated.
    Vector params(2), step(2);
    params << Real(cv_[0]), Real(cv_[1]);
    step << Real(adapt_scale ? -d_scale_ : 0.0), Real(adapt_temperature ? -d_log_temperature_ : 0.0);
    optimizer_->step(params, step, 1.0 / last_batch_);
    cv_[0] = params(0);
    cv_[1] = params(1);
  }
  if (!learned_) {
    const Index inputs = relaxation_.z.cols() + last_inputs_;
    init_surrogate(int(inputs), rng);
    return;  // the estimate that preceded had no surrogate to differentiate
  }
  Vector step = -d_surrogate_;
  learned_->optimizer->step(learned_->params.values(), step, Real(1.0 / last_batch_));
}

}  // namespace gradest
