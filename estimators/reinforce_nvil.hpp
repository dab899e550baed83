#pragma once
// reinforce-nvil: score function with a learned, input-dependent baseline (Mnih and Gregor 2014,
// "Neural variational inference and learning in belief networks"), both latent kinds.
//
// Target:   E_q[f(z)] (Target::expectation: the ELBO with analytic KL, objective terms likelihood);
//           UNBIASED: the baseline b(x) used by estimate() depends only on x and on state fixed
//           by earlier learn() calls, never on this estimate's samples.
// Formula:  g = (1/S) sum_s (f(x, z_s) - b(x)) * d log q(z_s | x)/d theta,  z_s ~ q(z | x),
//           b(x) = m + s * C(x; omega),
//           C: an MLP on objective.inputs() (B x D; a constant input 1 when the objective has none),
//              hidden sizes baseline_hidden, tanh, one linear output;
//           m: running mean of f (baseline_centre; else 0); s = max(1, running sd of f - m)
//              (baseline_normalise; else 1); both exponential moving averages with baseline_decay.
//           Decoder/prior: (1/S) sum_s grad_theta f(z_s) (Objective::backward).
//           learn(): one Adam step (baseline_lr) on omega minimising (1/B) sum_b (C(x_b) - t_b)^2,
//           t_b = (1/S) sum_s (f(x_b, z_s) - m)/s with the UPDATED m, s (what the next estimate
//           uses); then m, s are kept. The first learn() initialises the MLP (Glorot uniform, from
//           learn's generator) and sets m, s from that batch; before it, b = 0 (plain reinforce).
// Normalisation, a deliberate difference from the paper: Mnih and Gregor divide the centred
//           signal, hence the gradient, by s. gradest does not, because a probe compares
//           estimates of the same gradient (and Adam is insensitive to that scale): s only
//           normalises the regression target of C, so C trains at unit scale whatever the ELBO's.
// Latents:  Gaussian, Bernoulli and categorical; f need not be differentiable.
// Cost:     S samples, S objective evaluations per data point; plus one forward of C per data point
//           per estimate and one forward/backward per learn().
// Options:  samples S (default 1); declared below (kOptions): baseline-hidden (default 100),
//           baseline-lr (default 1e-3, > 0), baseline-centre (default true), baseline-normalise
//           (default true), baseline-decay (default 0.9 in [0, 1), the running statistics; the same
//           option as reinforce-ma's).
// Diagnostics (of the last estimate, with the baseline it used): baseline_loss = mean over rows of
//           (f - b(x))^2 (nats^2); explained_variance = 1 - Var(f - b(x)) / Var(f) over the S*B rows.
#include <memory>

#include "estimators/monte_carlo.hpp"

namespace gradest {

class Parameters;
class Network;
class Optimizer;

class ReinforceNvil final : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  static constexpr OptionSpec kHidden{.name = "baseline-hidden",
                                      .type = OptionType::integer_list,
                                      .default_text = "100",
                                      .min = 1,
                                      .max = 1000000,
                                      .empty_list = "linear",
                                      .help = "hidden sizes of the baseline MLP C(x)"};
  static constexpr OptionSpec kLr{.name = "baseline-lr",
                                  .type = OptionType::real,
                                  .default_text = "0.001",
                                  .min = 0,
                                  .min_open = true,
                                  .help = "Adam step size of the baseline MLP"};
  static constexpr OptionSpec kCentre{.name = "baseline-centre",
                                      .type = OptionType::boolean,
                                      .default_text = "true",
                                      .help = "subtract a running mean m of the signal"};
  static constexpr OptionSpec kNormalise{.name = "baseline-normalise",
                                         .type = OptionType::boolean,
                                         .default_text = "true",
                                         .help = "divide the baseline's target by a running sd s of the signal"};
  static constexpr const OptionSpec& kDecay = kBaselineDecayOption;
  static constexpr OptionSpec kOptions[] = {kHidden, kLr, kCentre, kNormalise, kDecay};
  explicit ReinforceNvil(EstimatorOptions options);
  ~ReinforceNvil() override;
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override;
  void learn(Rng& rng) override;
  EstimatorDiagnostics diagnostics() const override;

  // The baseline b(x_b) the next estimate would use for these inputs (B x D, or nullptr for none).
  Vector baseline(const Matrix* inputs, Index batch);
  // The baseline network's parameters (group "baseline"); nullptr before the first learn().
  const Parameters* baseline_parameters() const;

 private:
  Vector baseline_of(const Matrix& baseline_input);
  struct Learned;                     // network, its parameters and optimiser
  std::unique_ptr<Learned> learned_;  // null until the first learn()
  double mean_ = 0.0, scale_ = 1.0, second_moment_ = 0.0;  // m, s and the running E[(f - m)^2]
  bool have_last_ = false;         // an estimate not yet learned from
  bool have_diagnostics_ = false;
  double last_loss_ = 0.0, last_explained_ = 0.0;
  ScoreSamples samples_;
  Matrix inputs_, c_out_, d_out_;
  Vector last_baseline_;
};

}  // namespace gradest
