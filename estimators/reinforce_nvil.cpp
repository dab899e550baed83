#include "estimators/reinforce_nvil.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "models/distributions.hpp"
#include "models/network.hpp"
#include "models/optimizer.hpp"
#include "models/parameters.hpp"

namespace gradest {

const EstimatorInfo ReinforceNvil::kInfo{
    .name = "reinforce-nvil",
    .summary = "score function, learned input-dependent baseline C(x) with centring/normalisation (Mnih & Gregor 2014)",
    .formula = "(1/S) sum_s (f(z_s) - m - s*C(x)) dlog q(z_s)/dtheta; C fits (f - m)/s by Adam",
    .target = Target::expectation,
    .unbiased = true,
    .families = {LatentKind::gaussian, LatentKind::bernoulli, LatentKind::categorical},
    .needs_dz = false,
    .min_samples = 1,
    .cost = "S",
};

struct ReinforceNvil::Learned {
  Parameters params;
  std::unique_ptr<Network> network;
  std::unique_ptr<Optimizer> optimizer;
  Vector grad;
};

ReinforceNvil::ReinforceNvil(EstimatorOptions options) : Estimator(std::move(options)) {}
ReinforceNvil::~ReinforceNvil() = default;

const Parameters* ReinforceNvil::baseline_parameters() const { return learned_ ? &learned_->params : nullptr; }

namespace {
// The baseline's input: the data, or one constant column for objectives without data.
void baseline_inputs(const Matrix* inputs, Index batch, Matrix& out) {
  if (inputs) {
    if (inputs->rows() != batch)
      throw std::invalid_argument("reinforce-nvil: objective inputs() must have one row per data point");
    out = *inputs;
  } else {
    out.setOnes(batch, 1);
  }
}
}  // namespace

Vector ReinforceNvil::baseline(const Matrix* inputs, Index batch) {
  Matrix x;
  baseline_inputs(inputs, batch, x);
  return baseline_of(x);
}

Vector ReinforceNvil::baseline_of(const Matrix& x) {
  Vector b = Vector::Constant(x.rows(), Real(mean_));
  if (!learned_) return b;
  // Slot 0 only: learn() redoes its own forward, so this cannot disturb a pending backward.
  learned_->network->forward(0, x, c_out_);
  b.array() += Real(scale_) * c_out_.col(0).array();
  return b;
}

void ReinforceNvil::estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) {
  const int S = options_.samples;
  const Index B = node.batch();
  ScoreSamples& s = samples_;
  s.draw(node, objective, S, rng);
  const Vector& value = s.value;
  baseline_inputs(objective.inputs(), B, inputs_);  // kept for learn()
  last_baseline_ = baseline_of(inputs_);
  double sum = 0, sum_sq = 0, res_sum = 0, res_sq = 0;
  for (Index r = 0; r < value.size(); ++r) {
    const double f = value(r), residual = f - double(last_baseline_(r % B));
    sum += f, sum_sq += f * f, res_sum += residual, res_sq += residual * residual;
    s.weight(r) = Real(residual / S);
  }
  accumulate_score(node, s.z, s.weight, grad);
  const double n = double(value.size());
  const double variance = sum_sq / n - (sum / n) * (sum / n);
  const double residual_variance = res_sq / n - (res_sum / n) * (res_sum / n);
  last_loss_ = res_sq / n;
  last_explained_ = variance > 0 ? 1.0 - residual_variance / variance : std::numeric_limits<double>::quiet_NaN();
  have_last_ = have_diagnostics_ = true;
}

void ReinforceNvil::learn(Rng& rng) {
  if (!have_last_) return;
  const Vector& value = samples_.value;
  const Index B = inputs_.rows();
  const int S = int(value.size() / B);
  if (!learned_) {
    learned_ = std::make_unique<Learned>();
    learned_->network = std::make_unique<Network>(learned_->params, "baseline", int(inputs_.cols()), 1,
                                                  NetworkSpec{options_.integers(kHidden), Activation::tanh});
    learned_->network->init(rng);
    OptimizerOptions adam;
    adam.lr.initial = options_.real(kLr);
    learned_->optimizer = Optimizer::make(adam, learned_->params.size());
    learned_->grad.setZero(learned_->params.size());
  }
  // Running statistics (the first learn() takes them from this batch).
  const bool first = learned_->optimizer->steps() == 0;
  const double decay = options_.real(kDecay);
  double batch_mean = 0;
  for (Index r = 0; r < value.size(); ++r) batch_mean += value(r);
  batch_mean /= double(value.size());
  const bool centring = options_.boolean(kCentre);
  const double centre = centring ? (first ? batch_mean : mean_) : 0.0;
  double batch_second = 0;
  for (Index r = 0; r < value.size(); ++r) batch_second += (value(r) - centre) * (value(r) - centre);
  batch_second /= double(value.size());
  if (centring) mean_ = first ? batch_mean : decay * mean_ + (1 - decay) * batch_mean;
  second_moment_ = first ? batch_second : decay * second_moment_ + (1 - decay) * batch_second;
  scale_ = options_.boolean(kNormalise) ? std::max(1.0, std::sqrt(second_moment_)) : 1.0;
  // One Adam step on (1/B) sum_b (C(x_b) - t_b)^2; the optimiser ascends, so pass minus its gradient.
  learned_->network->forward(0, inputs_, c_out_);
  d_out_.resize(B, 1);
  for (Index b = 0; b < B; ++b) {
    double target = 0;
    for (int s = 0; s < S; ++s) target += (value(s * B + b) - mean_) / scale_;
    target /= S;
    d_out_(b, 0) = Real(-2.0 * (double(c_out_(b, 0)) - target) / double(B));
  }
  learned_->grad.setZero();
  learned_->network->backward(0, d_out_, learned_->grad, nullptr);
  learned_->optimizer->step(learned_->params.values(), learned_->grad);
  have_last_ = false;
}

EstimatorDiagnostics ReinforceNvil::diagnostics() const {
  EstimatorDiagnostics d;
  if (!have_diagnostics_) return d;
  d.baseline_loss = last_loss_;
  d.explained_variance = last_explained_;
  return d;
}

}  // namespace gradest
