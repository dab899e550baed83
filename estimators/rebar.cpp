#include "estimators/rebar.hpp"

#include <cmath>
#include <stdexcept>

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
  ConcreteRelaxation& cr = relaxation_;
  cr.draw(node, S, lambda, rng);
  if (!cr.evaluate(objective, S, lambda, adapt_temperature))
    throw std::invalid_argument(
        "rebar: adapt-temperature needs the objective's second derivatives in z, which this model does not give; "
        "allowed: adapt-temperature = false");

  // Per data point: the estimate g (B x k), and, for learn(), d g/d eta and d g/d lambda.
  MatrixD g = MatrixD::Zero(B, k), dg_eta = MatrixD::Zero(B, k), dg_lambda = MatrixD::Zero(B, k);
  const double inv_S = 1.0 / S;
  for (Index r = 0; r < R; ++r) {
    const Index d = r % B;
    const double f_b = cr.value_b(r);
    const double tilde_along = adapt_temperature ? cr.tilde_along(r) : 0.0;  // d f(s~)/d lambda
    for (Index j = 0; j < k; ++j) {
      const double score = double(cr.b(r, j)) - sigmoid(double(node.logits(d, j)));
      const auto cv = cr.control_variate(r, j, score, lambda, adapt_temperature, tilde_along);
      g(d, j) += inv_S * (f_b * score + eta * cv.cv);
      dg_eta(d, j) += inv_S * cv.cv;
      if (adapt_temperature) dg_lambda(d, j) += inv_S * eta * cv.dcv_lambda;
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
