#include "estimators/rebar.hpp"

#include <cmath>
#include <stdexcept>

#include "estimators/monte_carlo.hpp"
#include "models/distributions.hpp"
#include "models/optimizer.hpp"

namespace gradest {

const EstimatorInfo Rebar::kInfo{
    .name = "rebar",
    .summary = "REINFORCE with the concrete relaxation at z~ ~ p(z|b) as control variate (Tucker et al. 2017)",
    .formula = "[f(b) - eta f(s~)] dlog q(b) + eta df(s)/dth - eta df(s~)/dth, s = sig(z/lambda)",
    .target = Target::expectation,
    .unbiased = true,
    .families = {LatentKind::bernoulli},
    .needs_dz = true,
    .min_samples = 1,
    .cost = "3S",
};

namespace {

double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
double sigmoid_d(double x) { return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)); }

}  // namespace

Rebar::Rebar(EstimatorOptions options) : Estimator(std::move(options)) {
  cv_[0] = options_.real(kScale);
  cv_[1] = std::log(options_.real(kTemperature));
}

Rebar::~Rebar() = default;

double Rebar::scale() const { return cv_[0]; }
double Rebar::temperature() const { return std::exp(cv_[1]); }

EstimatorDiagnostics Rebar::diagnostics() const {
  EstimatorDiagnostics d;
  d.temperature = temperature();
  d.scale = scale();
  return d;
}

void Rebar::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  if (!objective.differentiable_in_z())
    throw std::invalid_argument("rebar needs an objective differentiable in z (a relaxed decoder)");
  const bool adapt_temperature = options_.boolean(kAdaptTemperature);
  const int S = options_.samples;
  const Index B = node.batch(), k = node.dim(), R = Index(S) * B;
  const double eta = scale(), lambda = temperature();

  u_.resize(R, k);
  v_.resize(R, k);
  rng.fill_uniform_open(u_);
  rng.fill_uniform_open(v_);
  b_.resize(R, k);
  s_.resize(R, k);
  s_tilde_.resize(R, k);
  z_.resize(R, k);
  z_tilde_.resize(R, k);
  dz_tilde_.resize(R, k);
  for (Index j = 0; j < k; ++j)
    for (Index r = 0; r < R; ++r) {
      const double theta = node.logits(r % B, j), u = u_(r, j), v = v_(r, j);
      const double z = theta + std::log(u) - std::log1p(-u);
      const bool one = z > 0;
      const double z_tilde = one ? softplus(theta + std::log(v)) - std::log1p(-v)
                                 : std::log(v) - softplus(-theta + std::log1p(-v));
      b_(r, j) = one ? Real(1) : Real(0);
      z_(r, j) = Real(z);
      z_tilde_(r, j) = Real(z_tilde);
      dz_tilde_(r, j) = Real(one ? sigmoid_d(theta + std::log(v)) : sigmoid_d(-theta + std::log1p(-v)));
      s_(r, j) = Real(sigmoid_d(z / lambda));
      s_tilde_(r, j) = Real(sigmoid_d(z_tilde / lambda));
    }

  evaluate_with_plain_gradient(objective, b_, S, value_b_, weight_, nullptr);
  ones_.setOnes(R);
  objective.evaluate(1, s_, value_s_);
  objective.gradient_in_z(1, ones_, g_s_);
  objective.evaluate(2, s_tilde_, value_s_tilde_);
  objective.gradient_in_z(2, ones_, g_s_tilde_);
  if (adapt_temperature) {
    // ds/dlambda at both relaxations, and the objective's second derivative along them.
    direction_.resize(2 * R, k);
    for (Index j = 0; j < k; ++j)
      for (Index r = 0; r < R; ++r) {
        const double s = s_(r, j), st = s_tilde_(r, j);
        direction_(r, j) = Real(-s * (1 - s) * z_(r, j) / (lambda * lambda));
        direction_(R + r, j) = Real(-st * (1 - st) * z_tilde_(r, j) / (lambda * lambda));
      }
    Matrix hv_tilde;
    if (!objective.hessian_vector_in_z(1, ones_, direction_.topRows(R), hv_) ||
        !objective.hessian_vector_in_z(2, ones_, direction_.bottomRows(R), hv_tilde))
      throw std::invalid_argument(
          "rebar: adapt-temperature needs the objective's second derivatives in z, which this model does not give; "
          "allowed: adapt-temperature = false");
    hv_.conservativeResize(2 * R, k);
    hv_.bottomRows(R) = hv_tilde;
  }

  // Per data point: the estimate g (B x k), and, for learn(), d g/d eta and d g/d lambda.
  MatrixD g = MatrixD::Zero(B, k), dg_eta = MatrixD::Zero(B, k), dg_lambda = MatrixD::Zero(B, k);
  const double inv_S = 1.0 / S;
  for (Index r = 0; r < R; ++r) {
    const Index d = r % B;
    const double f_b = value_b_(r), f_tilde = value_s_tilde_(r);
    double tilde_along = 0;  // d f(s~)/d lambda = G2 . ds~/dlambda
    if (adapt_temperature)
      for (Index i = 0; i < k; ++i) tilde_along += double(g_s_tilde_(r, i)) * direction_(R + r, i);
    for (Index j = 0; j < k; ++j) {
      const double theta = node.logits(d, j);
      const double score = double(b_(r, j)) - sigmoid_d(theta);
      const double s = s_(r, j), st = s_tilde_(r, j), e = dz_tilde_(r, j);
      const double kappa = s * (1 - s) / lambda, kappa_tilde = st * (1 - st) / lambda;
      const double cv = -f_tilde * score + double(g_s_(r, j)) * kappa - double(g_s_tilde_(r, j)) * kappa_tilde * e;
      g(d, j) += inv_S * (f_b * score + eta * cv);
      dg_eta(d, j) += inv_S * cv;
      if (adapt_temperature) {
        const double w = direction_(r, j), wt = direction_(R + r, j);
        const double dkappa = (1 - 2 * s) * w / lambda - s * (1 - s) / (lambda * lambda);
        const double dkappa_tilde = (1 - 2 * st) * wt / lambda - st * (1 - st) / (lambda * lambda);
        const double dcv = -tilde_along * score + double(hv_(r, j)) * kappa + double(g_s_(r, j)) * dkappa -
                           (double(hv_(R + r, j)) * kappa_tilde + double(g_s_tilde_(r, j)) * dkappa_tilde) * e;
        dg_lambda(d, j) += inv_S * eta * dcv;
      }
    }
  }
  grad.d_logits += g.cast<Real>();
  d_scale_ = 2 * (g.array() * dg_eta.array()).sum();
  d_log_temperature_ = adapt_temperature ? 2 * lambda * (g.array() * dg_lambda.array()).sum() : 0.0;
  last_batch_ = double(B);
  pending_ = true;
}

void Rebar::learn(Rng& /*rng*/) {
  const bool adapt_scale = options_.boolean(kAdaptScale), adapt_temperature = options_.boolean(kAdaptTemperature);
  if (!pending_ || (!adapt_scale && !adapt_temperature)) return;
  pending_ = false;
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

}  // namespace gradest
