#pragma once
// rebar: REINFORCE with the concrete relaxation as control variate, evaluated at the conditional
// relaxation, plus its pathwise correction (Tucker, Mnih, Maddison, Lawson and Sohl-Dickstein 2017,
// "REBAR: Low-variance, unbiased gradient estimates for discrete latent variable models", eq. 6).
//
// Target:   E_q[f(b)] (the ELBO with analytic KL), q = prod_j Bern(p_j), p = sigmoid(theta); UNBIASED
//           for any temperature lambda > 0 and scale eta.
// Formula:  u, v ~ U(0,1)^k;  z = theta + logit u,  b = H(z) (so b ~ q);
//           z~ ~ p(z | b) from v:  b_j = 1: z~_j = softplus(theta_j + log v_j) - log(1 - v_j),
//                                  b_j = 0: z~_j = log v_j - softplus(-theta_j + log(1 - v_j));
//           s = sigmoid(z / lambda), s~ = sigmoid(z~ / lambda) (the concrete relaxations);
//           g_j = [f(b) - eta f(s~)] (b_j - p_j) + eta d f(s)/d theta_j - eta d f(s~)/d theta_j,
//           where d f(s)/d theta_j = f'_j(s) s_j (1 - s_j) / lambda (dz_j/dtheta_j = 1) and
//           d f(s~)/d theta_j = f'_j(s~) s~_j (1 - s~_j) / lambda dz~_j/dtheta_j with b held fixed:
//           dz~_j/dtheta_j = sigmoid(theta_j + log v_j) (b_j = 1), sigmoid(-theta_j + log(1 - v_j)) (b_j = 0).
//           Averaged over S independent draws. The objective's own parameters get the plain gradient
//           of f(b) alone: f(s), f(s~) enter only the control variate (Objective::gradient_in_z).
// Adaptation (learn(), on by default): eta and log lambda follow Adam steps (rate cv-lr) DOWN the gradient
//           of the single-estimate second moment sum_{b,j} g_bj^2 / B, whose expectation is the
//           variance of the node's logit gradient plus a constant (E g does not depend on them;
//           the paper's eq. 7). d g/d eta is the control variate itself; d g/d lambda needs the
//           objective's second derivative in z along ds/dlambda (Objective::hessian_vector_in_z:
//           the VAEs' decoders by the R-operator, the toys in closed form); objectives without it
//           refuse adapt-temperature with a one-line reason. The noise and samples do not depend on
//           the adaptation, which only changes later estimates.
// Latents:  Bernoulli only; the objective must be differentiable in z (relaxed decoders).
// Cost:     3S objective evaluations per data point (f(b), f(s), f(s~)); 2S z-gradients, and with
//           adapt-temperature 2S Hessian-vector products in z (about two more backward passes each).
// Options:  samples S (default 1); temperature lambda (default 1); cv-scale eta (default 1);
//           adapt-scale and adapt-temperature (default true, as in the paper); cv-lr (default 0.001). The current lambda
//           and eta are the run's diagnostics (traced in the HDF5 record).
#include <memory>

#include "estimators/concrete_relaxation.hpp"
#include "estimators/estimator.hpp"
#include "estimators/gumbel_softmax.hpp"

namespace gradest {

class Optimizer;

class Rebar final : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  static constexpr const OptionSpec& kTemperature = GumbelSoftmax::kTemperature;
  static constexpr const OptionSpec& kScale = kCvScaleOption;
  static constexpr OptionSpec kAdaptTemperature{.name = "adapt-temperature",
                                                .type = OptionType::boolean,
                                                .default_text = "true",
                                                .help = "adapt the temperature online to minimise the variance "
                                                        "(needs the model's second derivatives in z)"};
  static constexpr const OptionSpec& kAdaptScale = kAdaptScaleOption;
  static constexpr const OptionSpec& kLr = kCvLrOption;
  static constexpr OptionSpec kOptions[] = {kTemperature, kScale, kAdaptTemperature, kAdaptScale, kLr};

  explicit Rebar(EstimatorOptions options);
  ~Rebar() override;
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override;
  void learn(Rng& rng) override;
  EstimatorDiagnostics diagnostics() const override;

  double temperature() const;
  double scale() const;
  // d/d(eta, log lambda) of sum_{b,j} g_bj^2 over the last estimate's batch (log lambda's entry is
  // computed only with adapt-temperature, else 0): what learn() descends, exposed for its test.
  double last_d_scale() const { return d_scale_; }
  double last_d_log_temperature() const { return d_log_temperature_; }

 private:
  double cv_[2];  // eta, log lambda
  std::unique_ptr<Optimizer> optimizer_;
  double d_scale_ = 0, d_log_temperature_ = 0, last_batch_ = 0;
  bool pending_ = false;
  ConcreteRelaxation relaxation_;  // the draws and evaluations (estimators/concrete_relaxation.hpp)
};

}  // namespace gradest
