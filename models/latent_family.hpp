#pragma once
// A latent family: everything a model or an estimator asks about the distribution of k latent
// variables, answered by one object per family instead of a switch on its kind.
//
// A family knows
// - its layout: how many encoder outputs parameterise k latents, how many learnable prior
//   parameters it has, how many columns a sample has, and how a StochasticNode is filled from the
//   encoder's output (and the encoder output's gradient from a NodeGradient);
// - q(z | node): sampling (with the noise a pathwise or antithetic estimator needs), log q, the
//   score d log q / d node, the pathwise derivative where it has one, and E_q[z];
// - the prior p(z) with its parameters a: log p(z) and its gradient, sampling, and the analytic
//   KL(q || p) per data point and latent with its gradient;
// - its support: the number of values of each latent when finite (enumeration of all
//   configurations then has support_size()^k points), or 0 for a continuous family;
// - for discrete families: a continuous relaxation of its samples and its pathwise derivative
//   (gumbel-softmax, straight-through-gumbel), the Jacobian of E_q[z] (straight-through), and
//   questions about one latent at a time: log q of each value, setting a latent's value in a
//   sample, the gradient of an expectation over one latent (indecater, unordered-set).
//
// Families (models/latent_<name>.cpp):
//   bernoulli: q(z_j = 1) = sigmoid(l_j), node.logits B x k; prior Bern(sigmoid(a_j)), a learnable.
//   gaussian:  q = N(mean, exp(log_var)), node.mean and node.log_var B x k; prior N(0, I), fixed.
//   categorical (C values): q(z_j = c) = softmax(l_j)_c, node.logits B x (k*C) with latent j's C
//              logits in columns j*C .. j*C + C - 1; z one-hot, S*B x (k*C); prior
//              Cat(softmax(a_j)), a (k*C) learnable, 0 = uniform.
//
// Adding a family: its own models/latent_<name>.cpp (a LatentFamily), its LatentKind and name in
// models/stochastic.hpp/.cpp and latent_family.cpp, and in each estimator's registry line the
// families it accepts. Sign and row conventions are models/stochastic.hpp's.
#include <cstdint>

#include "models/rng.hpp"
#include "models/stochastic.hpp"
#include "models/types.hpp"

namespace gradest {

class LatentFamily {
 public:
  virtual ~LatentFamily() = default;
  virtual LatentKind kind() const = 0;
  std::string_view name() const { return to_string(kind()); }

  // ---- layout (k latent variables) --------------------------------------------------------------
  virtual Index encoder_outputs(Index k) const = 0;
  virtual Index prior_parameters(Index k) const = 0;
  // Columns of a sample z of k latents (the decoder's input width): k, or k*C one-hot columns.
  virtual Index sample_columns(Index k) const { return k; }
  // True when samples are 0/1 (the decoder may then see 2z - 1).
  virtual bool binary() const { return false; }
  // Fills node from the encoder's output (B x encoder_outputs(k)); may take over its storage.
  virtual void node_from_encoder(Matrix& encoder_out, StochasticNode& node) const = 0;
  // The gradient with respect to the encoder's output, from one with respect to the node (may
  // return a reference to grad's own storage, or fill and return scratch).
  virtual const Matrix& encoder_gradient(const NodeGradient& grad, Matrix& scratch) const = 0;
  virtual Index batch(const StochasticNode& node) const = 0;
  virtual Index dim(const StochasticNode& node) const = 0;
  virtual void reset_gradient(const StochasticNode& node, NodeGradient& grad) const = 0;

  // ---- q(z | node) ------------------------------------------------------------------------------
  // S samples per data point into z (S*B x k, sample-major); noise receives what made them (the
  // standard normals eps, z = mean + sd * eps; the uniforms u, z = [u < sigmoid(l)]).
  virtual void sample(const StochasticNode& node, int samples, Rng& rng, Matrix& z, Matrix& noise) const = 0;
  // log q(z_r | node_{r mod B}) summed over the k latents, per row r of z.
  virtual void log_prob(const StochasticNode& node, const Matrix& z, Vector& out) const = 0;
  // Adds sum_r weight_r d log q(z_r) / d node into grad (rows r mod B).
  virtual void accumulate_score(const StochasticNode& node, const Matrix& z, const Vector& weight,
                                NodeGradient& grad) const = 0;
  // Pathwise derivative: given dz_r = weight_r df/dz_r and the noise that made z, adds
  // sum_r dz_r dz_r/d node into grad. Only where reparameterisable().
  virtual bool reparameterisable() const { return false; }
  virtual void accumulate_reparam(const StochasticNode& node, const Matrix& dz, const Matrix& noise,
                                  NodeGradient& grad) const;
  // E_q[z] per data point (B x k).
  virtual void posterior_mean(const StochasticNode& node, Matrix& mean) const = 0;

  // ---- the prior p(z | a) and KL(q || p) ------------------------------------------------------------
  // acc_r += log p(z_r | a) for each row r.
  virtual void add_log_prior(ConstVectorMap prior, const Matrix& z, VectorD& acc) const = 0;
  // Adds sum_r weight_r d log p(z_r)/da into d_prior, and weight_r d log p(z_r)/dz_r to the rows
  // of grad_z when it is not null.
  virtual void log_prior_backward(ConstVectorMap prior, const Matrix& z, const Vector& weight, VectorMap d_prior,
                                  Matrix* grad_z) const = 0;
  virtual void sample_prior(ConstVectorMap prior, Index n, Index k, Rng& rng, Matrix& z) const = 0;
  // KL(q(z_j | node_b) || p(z_j)) into kl (B x k); scratch is a reusable buffer.
  virtual void kl(const StochasticNode& node, ConstVectorMap prior, Matrix& kl, Matrix& scratch) const = 0;
  // Adds -weight .* dKL/d node into grad and -sum_b weight_bj dKL_bj/da into d_prior.
  virtual void kl_backward(const StochasticNode& node, ConstVectorMap prior, const Matrix& weight, NodeGradient& grad,
                           VectorMap d_prior, Matrix& scratch) const = 0;

  // ---- relaxations (Concrete / Gumbel-softmax; Maddison et al. 2017, Jang et al. 2017) -------------
  // Families with a continuous relaxation of their discrete samples at temperature tau > 0:
  //   bernoulli:   z~_j = sigmoid((l_j + log u - log(1 - u)) / tau),  noise u ~ U(0, 1) (S*B x k)
  //   categorical: z~_j = softmax((l_j + g_j) / tau),  g_jc = -log(-log u_jc),  noise u (S*B x k*C)
  virtual bool relaxable() const { return false; }
  // S relaxed samples per data point (S*B x sample_columns(k), sample-major) and the noise.
  virtual void relaxed_sample(const StochasticNode& node, int samples, double temperature, Rng& rng, Matrix& z,
                              Matrix& noise) const;
  // Given dz_r (= weight_r df/dz at row r) and the relaxed samples z~ relaxed_sample made, adds
  // sum_r dz_r dz~_r/d node into grad:
  //   bernoulli: dz z~ (1 - z~) / tau;  categorical: z~_jc (dz_jc - sum_c' dz_jc' z~_jc') / tau.
  virtual void accumulate_relaxed(const StochasticNode& node, const Matrix& dz, const Matrix& relaxed,
                                  double temperature, NodeGradient& grad) const;
  // The discrete sample a relaxed one rounds to (distributed exactly as q): bernoulli 1[z~ > 1/2]
  // (= 1[1 - u < sigmoid(l)]), categorical the one-hot argmax of each latent (= argmax(l + g), Gumbel-max).
  virtual void harden(const Matrix& relaxed, Matrix& hard) const;
  // Adds sum_r dz_r d E_q[z] / d node (the Jacobian of the posterior mean, rows r mod B) into grad:
  //   bernoulli: dz sigma(l)(1 - sigma(l));  categorical: q_jc (dz_jc - sum_c' dz_jc' q_jc').
  virtual void accumulate_mean_pathwise(const StochasticNode& node, const Matrix& dz, NodeGradient& grad) const;

  // ---- one latent at a time (enumerable families) ----------------------------------------------------
  // log q(z_j = c | node_b) for every latent j and value c into log_q (B x k*C, column j*C + c,
  // C = support_size()), in double.
  virtual void value_log_probs(const StochasticNode& node, MatrixD& log_q) const;
  // Sets latent j of row r of the sample matrix z to value c (0 <= c < support_size()).
  virtual void set_value(Matrix& z, Index r, Index j, int c) const;
  // Adds sum_c values[c] d q(z_j = c | node_b) / d node into grad's row b (values: C entries).
  virtual void add_value_expectation_gradient(const StochasticNode& node, Index b, Index j, const double* values,
                                              NodeGradient& grad) const;

  // ---- support ------------------------------------------------------------------------------------
  // Values each latent takes when the support is finite; 0 for a continuous family.
  virtual int support_size() const { return 0; }
  bool enumerable() const { return support_size() > 0; }
  // Configuration `index` of k latents (mixed radix: latent j takes value (index / C^j) mod C,
  // C = support_size()) into `row` (sample_columns(k) entries). Enumerable families only.
  virtual void configuration(std::uint64_t index, Index k, Real* row) const;
  // Adds coeff * d log q(configuration index | node_b) / d node into grad's row b, computed in double.
  virtual void add_configuration_score(const StochasticNode& node, Index b, std::uint64_t index, double coeff,
                                       NodeGradient& grad) const;
};

// The layout shared by the families parameterised by logits alone (Bernoulli, categorical): the
// encoder's output is the node's logits, and the node gradient's d_logits is the encoder output's.
class LogitsFamily : public LatentFamily {
 public:
  void node_from_encoder(Matrix& encoder_out, StochasticNode& node) const override;
  const Matrix& encoder_gradient(const NodeGradient& grad, Matrix&) const override { return grad.d_logits; }
  Index batch(const StochasticNode& node) const override { return node.logits.rows(); }
  void reset_gradient(const StochasticNode& node, NodeGradient& grad) const override;
};

// The family of a kind (one shared object per family and category count). `categories` is C for
// the categorical family (>= 2) and ignored by the others.
const LatentFamily& latent_family(LatentKind kind, int categories = 0);

}  // namespace gradest
