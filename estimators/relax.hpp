#pragma once
// relax: REBAR's control variate plus a learned surrogate, all of whose parameters descend the
// estimate's variance (Grathwohl, Choi, Wu, Roeder and Duvenaud 2018, "Backpropagation through the
// Void: Optimizing control variates for black-box gradient estimation", ICLR; eq. 8 and section 3.3,
// Bernoulli latents).
//
// Target:   E_q[f(b)] (the ELBO with analytic KL), q = prod_j Bern(p_j), p = sigmoid(theta); UNBIASED
//           for ANY surrogate c_phi (its correction terms are exact expectations given the noise).
// Surrogate: c_phi(z) = eta f(sigmoid(z / lambda)) + r_rho(z),   phi = (eta, log lambda, rho):
//           the concrete-relaxed f (as rebar) plus an MLP r_rho (hidden sizes surrogate-hidden, tanh,
//           one linear output) on the latent logits z (k inputs), with the data x_b concatenated when
//           surrogate-data (k + D inputs; the authors' VAE code feeds [x - mean x, z], gradest raw x).
// Formula:  u, v, z = theta + logit u, b = H(z), z~ ~ p(z | b), s = sigmoid(z/lambda), s~ = sigmoid(z~/lambda)
//           exactly as rebar (estimators/concrete_relaxation.hpp);
//           g_j = [f(b) - c_phi(z~)] (b_j - p_j) + d c_phi(z)/d theta_j - d c_phi(z~)/d theta_j   (b fixed in z~)
//               = rebar's g_j - r(z~) (b_j - p_j) + r'_j(z) - r'_j(z~) dz~_j/dtheta_j,
//           r'_j = d r_rho/d z_j; averaged over S independent draws. The objective's own parameters get
//           the plain gradient of f(b) alone (f(s), f(s~) by Objective::gradient_in_z).
// Learning (learn(), after each training estimate): Adam steps (rate cv-lr) DOWN the gradient of the
//           single-estimate second moment sum_{b,j} g_bj^2 / B (E g does not depend on phi, so this is
//           the variance plus a constant): eta (adapt-scale), log lambda (adapt-temperature; rebar's
//           derivatives, needing Objective::hessian_vector_in_z) and rho (always). With G = the batch's
//           g (B x k) and W_b = 2 G_b / S:
//             d/d rho = sum_r [ -(W_b . score_r) dr(z~_r)/d rho + d/d rho (r'(z_r) . W_b)
//                               - d/d rho (r'(z~_r) . (W_b o dz~_r/dtheta)) ],
//           the last two by double backpropagation (Network::backward_directional). The MLP is created
//           by the first learn() (Glorot uniform hidden layers from learn's generator, the OUTPUT layer
//           zero, so relax starts as rebar: r = 0 with a nonzero gradient on the output weights); before
//           it r = 0 and the first learn() adapts eta, lambda only. The noise and samples never depend
//           on the adaptation, which only changes later estimates. (The authors' code adds an L2 weight
//           decay on rho; gradest does not.)
// Latents:  Bernoulli only; the objective must be differentiable in z (relaxed decoders).
// Cost:     3S objective evaluations per data point (f(b), f(s), f(s~)); 2S z-gradients (with
//           adapt-temperature 2S Hessian-vector products in z), and 2S forwards, input gradients and
//           double-backward passes of the small MLP.
// Options:  samples S (default 1); temperature lambda (default 1); cv-scale eta (default 1); adapt-scale,
//           adapt-temperature (default true); cv-lr (default 0.001, also rho's Adam step); surrogate-hidden
//           (default 10); surrogate-data (default false).
// Diagnostics: baseline_loss = the surrogate's loss, mean over the batch of sum_j g_bj^2 of the last
//           estimate; temperature lambda and scale eta (traced in the HDF5 record).
#include <memory>

#include "estimators/concrete_relaxation.hpp"
#include "estimators/estimator.hpp"
#include "estimators/gumbel_softmax.hpp"
#include "estimators/rebar.hpp"

namespace gradest {

class Parameters;
class Network;
class Optimizer;

class Relax final : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  static constexpr const OptionSpec& kTemperature = GumbelSoftmax::kTemperature;
  static constexpr const OptionSpec& kScale = kCvScaleOption;
  static constexpr const OptionSpec& kAdaptTemperature = Rebar::kAdaptTemperature;
  static constexpr const OptionSpec& kAdaptScale = kAdaptScaleOption;
  static constexpr const OptionSpec& kLr = kCvLrOption;
  static constexpr OptionSpec kHidden{.name = "surrogate-hidden",
                                      .type = OptionType::integer_list,
                                      .default_text = "10",
                                      .min = 1,
                                      .max = 1000000,
                                      .empty_list = "linear",
                                      .help = "hidden sizes of relax's learned surrogate MLP r(z)"};
  static constexpr OptionSpec kData{.name = "surrogate-data",
                                    .type = OptionType::boolean,
                                    .default_text = "false",
                                    .help = "feed the data x to relax's surrogate MLP besides the logits z"};
  static constexpr OptionSpec kOptions[] = {kTemperature, kScale, kAdaptTemperature, kAdaptScale, kLr, kHidden, kData};

  explicit Relax(EstimatorOptions options);
  ~Relax() override;
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override;
  void learn(Rng& rng) override;
  EstimatorDiagnostics diagnostics() const override;

  double temperature() const;
  double scale() const;
  // Creates (or replaces) the surrogate MLP r with `inputs` inputs (k, or k + D with surrogate-data):
  // Glorot hidden layers from rng, zero output layer. learn() calls it once; tests call it to freeze
  // a known surrogate.
  void init_surrogate(int inputs, Rng& rng);
  // The MLP and its parameters (group "surrogate"); nullptr before init_surrogate.
  Network* surrogate();
  Parameters* surrogate_parameters();
  // r(z) and r'(z) of a one-latent surrogate without data (the 1-d toy's exact moments); 0 before
  // init_surrogate.
  double surrogate_value(double z, double* slope) const;

  // What learn() descends, of the last estimate: d/d eta, d/d log lambda (0 without
  // adapt-temperature) and d/d rho (empty before init_surrogate) of sum_{b,j} g_bj^2.
  double last_d_scale() const { return d_scale_; }
  double last_d_log_temperature() const { return d_log_temperature_; }
  const Vector& last_d_surrogate() const { return d_surrogate_; }

 private:
  double cv_[2];  // eta, log lambda
  std::unique_ptr<Optimizer> optimizer_;
  struct Learned;                     // the MLP, its parameters and optimiser
  std::unique_ptr<Learned> learned_;  // null until init_surrogate
  double d_scale_ = 0, d_log_temperature_ = 0, last_batch_ = 0, last_loss_ = 0;
  bool pending_ = false, have_loss_ = false;
  Index last_inputs_ = 0;  // D, the data columns the last estimate saw (with surrogate-data)
  Vector d_surrogate_;
  ConcreteRelaxation relaxation_;
  Matrix input_, input_tilde_, r_out_, r_out_tilde_, r_slope_, r_slope_tilde_, direction_, d_out_;
};

}  // namespace gradest
