#pragma once
// The two VAE families of the design: Bernoulli-factor latents and Gaussian latents, with
// Bernoulli, Gaussian (fixed or learned sigma) or Categorical decoders.
//
// Model (one data point x, k latents):
//   Bernoulli VAE: p(z) = prod_j Bern(z_j; sigmoid(a_j)), learnable prior logits a (init 0);
//                  q(z|x) = prod_j Bern(z_j; sigmoid(psi_j(x))), psi = encoder(x) (k outputs).
//   Gaussian VAE:  p(z) = N(0, I); q(z|x) = N(mu(x), diag exp(log_var(x))),
//                  encoder(x) has 2k outputs: columns [0, k) are mu, [k, 2k) are log_var.
//   Decoder g = decoder(z) (or decoder(2z - 1) with signed_latent_input), then log p(x|z) =
//     bernoulli:        sum_i x_i g_i - softplus(g_i)         (x_i in [0, 1]; logits g, D outputs)
//     gaussian_fixed:   sum_i log N(x_i; g_i, fixed_sigma^2)   (identity mean, D outputs)
//     gaussian_learned: sum_i log N(x_i; g_i, exp(2 s_i))      (s: per-pixel log sigma, a
//                       parameter vector of size D at the end of the "decoder" group, init
//                       log(fixed_sigma), not a function of z)
//     categorical:      sum_i log softmax_v(g_{v*D + i})[x_i]  (V = categories; x_i a symbol id
//                       0..V-1 stored as Real; D*V outputs, column v*D + i is symbol v at
//                       position i, so each symbol's block is a contiguous B x D matrix)
//   The encoder sees x - input_mean with centre_input (DisARM's protocol).
//
// Sign and normalisation: everything is of the quantity to MAXIMISE and of the SUM over the
// batch (models/stochastic.hpp). gradient() accumulates d(objective)/d(parameters) (an ascent
// direction; optimisers that minimise negate it). Callers zero it; every backward ADDS.
//
// Scalar type: gradest::Real (float32 in the binary, double in the f64 test build). Sums over the
// D pixels of one data point are accumulated in double, then stored as Real.
//
// Parameter layout (one flat vector, Parameters):
//   "encoder": the encoder network's layers (models/network.hpp layout)
//   "decoder": the decoder network's layers, then (gaussian_learned only) s (D log-sigmas)
//   "prior":   Bernoulli VAE only: the prior logits a (k). Absent for the Gaussian VAE.
//
// Typical ELBO step (estimator E with analytic KL):
//   vae.encode(x, node);                                    // q(z|x)
//   Objective& f = vae.objective(x, Objective::Terms::likelihood);
//   grad.reset_like(node); E.estimate(node, f, rng, grad);  // adds decoder grads via f.backward
//   vae.kl(node, kl); vae.kl_backward(node, beta_weights, grad);
//   vae.encode_backward(grad);                              // encoder grads
#include <memory>
#include <optional>
#include <string_view>
#include <string>

#include "models/network.hpp"
#include "models/parameters.hpp"
#include "models/rng.hpp"
#include "models/latent_family.hpp"
#include "models/stochastic.hpp"
#include "models/types.hpp"

namespace gradest {

enum class Likelihood { bernoulli, gaussian_fixed, gaussian_learned, categorical };
// "bernoulli", "gaussian" (= gaussian_fixed), "gaussian-fixed", "gaussian-learned", "categorical"
// (underscores accepted too).
std::optional<Likelihood> parse_likelihood(std::string_view name);
std::string_view to_string(Likelihood likelihood);
std::string_view likelihood_names();

struct VaeConfig {
  LatentKind latent = LatentKind::bernoulli;
  int input_dim = 784;                         // D
  int latents = 200;                           // k
  int latent_categories = 10;                  // C (categorical latents only)
  NetworkSpec encoder, decoder;
  Likelihood likelihood = Likelihood::bernoulli;
  int categories = 2;                          // V (categorical only): symbol ids 0..V-1
  double fixed_sigma = 1.0;                    // gaussian_fixed sigma; gaussian_learned init
  bool centre_input = false;                   // encoder sees x - input_mean (DisARM)
  Vector input_mean;                           // size D when centre_input
  bool signed_latent_input = false;            // decoder sees 2z - 1 (DisARM; Bernoulli only)
  Vector output_bias_init;                     // empty, or the decoder output bias start
                                               // (size decoder_outputs(): e.g. logit of train mean)

  // The latent family (needs a valid latent_categories for categorical latents).
  const LatentFamily& family() const { return latent_family(latent, latent_categories); }
  // Decoder output width: D, or D*V for categorical.
  int decoder_outputs() const { return likelihood == Likelihood::categorical ? input_dim * categories : input_dim; }
  // False with a one-line reason naming the field and its allowed values.
  bool valid(std::string* error) const;
  // What the model this config builds will hold, worked out without building it (the memory
  // check before anything is allocated): its parameter count, and the widest layer an example
  // passes through (input, hidden layers, latent parameters and samples, decoder outputs).
  double parameter_count() const;
  double widest_layer() const;
};

class Vae {
 public:
  // Builds and initialises (Network::init from init_rng, prior logits 0, output bias from
  // output_bias_init, learned log-sigma log(fixed_sigma)). Throws std::invalid_argument with
  // VaeConfig::valid's message on a bad config.
  static std::unique_ptr<Vae> make(const VaeConfig& config, Rng& init_rng);
  Vae(const VaeConfig& config, Rng& init_rng);
  Vae(const Vae&) = delete;
  Vae& operator=(const Vae&) = delete;
  ~Vae();

  const VaeConfig& config() const { return config_; }
  LatentKind latent_kind() const { return config_.latent; }
  const LatentFamily& latent_family() const { return family_; }
  int input_dim() const { return config_.input_dim; }
  int latents() const { return config_.latents; }

  Parameters& parameters() { return params_; }
  const Parameters& parameters() const { return params_; }
  // Same layout as parameters().values(); callers zero it, the model ADDS to it.
  Vector& gradient() {
    settle_decoder_gradient();
    return gradient_;
  }
  void zero_gradient() {
    gradient_.setZero();
    decoder_gradient_unwritten_ = false;
  }
  // gradient() zero in every range but the encoder's, for a caller whose next write there is
  // encode_backward(..., Network::Accumulate::overwrite) (vae_gradient: one pass less over memory).
  // The decoder network's range is zeroed lazily: the objective's first backward after this call
  // WRITES it (Accumulate::overwrite) instead of adding to zeros, and gradient() zeroes it first if
  // no backward came (the probe's draws: no pass over the decoder's range besides the GEMM's own).
  void zero_gradient_except_encoder();

  Network& encoder() { return encoder_; }
  Network& decoder() { return decoder_; }

  // q(z|x) for a B x D batch into node (kind, and logits or mean/log_var resized to B x k).
  // Caches for encode_backward(slot, ...). The plain overloads use slot 0; use
  // Network::kInferenceSlot for evaluation that must not disturb a training step's cache.
  void encode(int slot, const Matrix& x, StochasticNode& node);
  void encode(const Matrix& x, StochasticNode& node) { encode(0, x, node); }
  // Back-propagates a gradient with respect to the node's parameters into gradient()'s encoder
  // range: adds to it, or with Accumulate::overwrite writes it (its old contents unread).
  void encode_backward(int slot, const NodeGradient& grad, Network::Accumulate mode = Network::Accumulate::add);
  void encode_backward(const NodeGradient& grad) { encode_backward(0, grad); }

  // Analytic KL(q(z|x_b) || p(z)) per data point b and dimension j, into kl_per_dim (B x k).
  //   Gaussian:  0.5 (mu^2 + exp(log_var) - 1 - log_var)
  //   Bernoulli: q (l - a) - softplus(l) + softplus(a),  q = sigmoid(l)
  void kl(const StochasticNode& node, Matrix& kl_per_dim);
  // Adds -weight .* dKL/d(node parameters) to grad (weight: B x k, e.g. beta, or 0 where free
  // bits hold), and -sum_b weight_bj dKL_bj/da_j to gradient()'s prior range (Bernoulli).
  //   Gaussian:  dKL/dmu = mu, dKL/dlog_var = 0.5 (exp(log_var) - 1)
  //   Bernoulli: dKL/dl = q (1 - q) (l - a), dKL/da = sigmoid(a) - q
  void kl_backward(const StochasticNode& node, const Matrix& weight, NodeGradient& grad);

  // The objective f(x_b, z) for this batch: log p(x|z) (Terms::likelihood) or
  // log p(x|z) + log p(z) (Terms::joint). Its backward adds decoder (and, joint, prior) gradients
  // to gradient(), and df/dz to grad_z; differentiable_in_z() is true (the Bernoulli decoder and
  // prior are evaluated at relaxed z in [0, 1] by the same formulas). inputs() returns &x.
  // The returned object is owned by the Vae and reused: one objective per Vae at a time; x must
  // outlive its use (it is read in place, never copied). Its evaluation counter persists across
  // calls (reset_evaluations()).
  Objective& objective(const Matrix& x, Objective::Terms terms);

  // log p(z) per row of z (Bernoulli prior or N(0, I)), summed over dimensions.
  void log_prior(const Matrix& z, Vector& out) const;

  // Decoder means (uses Network::kInferenceSlot): bernoulli: pixel probabilities sigmoid(g);
  // gaussian: g; categorical: the EXPECTED symbol id sum_v v p_v per position (B x D).
  void decode_mean(const Matrix& z, Matrix& mean);
  // Categorical only: B x (D*V) probabilities in the decoder's column layout (v*D + i).
  void decode_probabilities(const Matrix& z, Matrix& probabilities);
  // z ~ p(z): n x k.
  void sample_prior(Index n, Rng& rng, Matrix& z) const;
  // x ~ p(x|z), one row per row of z (B x D; categorical: symbol ids).
  void sample_data(const Matrix& z, Rng& rng, Matrix& x);

 private:
  class VaeObjective;
  void decoder_input(const Matrix& z, Matrix& input) const;
  // The family's prior parameters and their gradient range (empty when the prior is fixed).
  ConstVectorMap prior() const;
  VectorMap prior_gradient();
  // After zero_gradient_except_encoder and before the decoder's first backward, the decoder range
  // of gradient_ is logically zero but unwritten: settle_ zeroes it, and the first backward takes
  // overwrite mode from decoder_gradient_mode().
  void settle_decoder_gradient();
  Network::Accumulate decoder_gradient_mode();

  VaeConfig config_;
  Parameters params_;
  Network encoder_, decoder_;
  const LatentFamily& family_;
  Index prior_offset_ = -1;       // the family's prior parameters (Bernoulli: logits a, k), if any
  Index log_sigma_offset_ = -1;   // gaussian_learned per-pixel log sigma (D)
  Vector gradient_;
  bool decoder_gradient_unwritten_ = false;  // see settle_decoder_gradient
  std::unique_ptr<VaeObjective> objective_;
  Matrix centred_, encoder_out_, d_encoder_out_, decoder_in_, decoder_out_, probability_;  // scratch
};

}  // namespace gradest
