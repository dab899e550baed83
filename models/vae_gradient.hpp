#pragma once
// One training step's gradient of a VAE, for any estimator and latent family. Training
// (run/train.cpp), the probe (run/probe.cpp) and the exact reference (models/exact_reference.cpp)
// all compute their gradients through this one function, so they cannot drift apart:
//   node <- q(z|x) through the encoder at `slot`;
//   node gradient <- estimate(node)  (an estimator, or exact enumeration / quadrature: adds
//                                      d objective / d node and the decoder's gradient);
//   ELBO targets (kl given): minus the analytic KL, weighted: d(-sum_{b,j} w_bj KL_bj) into the
//       node gradient and the prior's parameters, w_bj = beta, or 0 for every b of a dimension j
//       whose batch-mean KL_j is below free_bits (free bits, Kingma et al. 2016); nothing at beta 0;
//   importance-bound targets (no kl): no KL term;
//   encoder gradient by back-propagation of the node gradient.
// vae.gradient() is overwritten: it holds the gradient of the batch SUM (divide by B for
// the per-example gradient).
#include <functional>
#include <optional>

#include "models/stochastic.hpp"
#include "models/types.hpp"
#include "models/vae.hpp"

namespace gradest {

struct KlWeight {
  double beta = 1.0;       // the KL weight of this step
  double free_bits = 0.0;  // lambda, nats per latent dimension
};

// Buffers reused across steps (no allocation per step once sized).
struct VaeGradientScratch {
  StochasticNode node;
  NodeGradient node_gradient;
  Matrix kl;          // B x k, KL_bj of the last call (ELBO targets)
  Matrix kl_weights;  // B x k
  // Set by a caller whose calls of vae_gradient_encoded share one node and one set of parameters
  // (the probe's draws): the KL, its sum and its weights are then computed once and reused, which
  // gives the same bits as computing them again. vae_gradient (which encodes) forgets them; a
  // caller that encodes into `node` itself resets kl_computed_for.
  bool node_frozen = false;
  // The reused KL's state: valid for these weights.
  std::optional<KlWeight> kl_computed_for;
  bool kl_finite = true;
  double kl_sum = 0;
};

using NodeEstimate = std::function<void(const StochasticNode& node, NodeGradient& node_gradient)>;

struct VaeGradientResult {
  bool kl_finite = true;  // false: a KL term was not finite (the gradient is not usable)
  double kl_sum = 0;      // sum_{b,j} KL_bj (unweighted), ELBO targets
};

VaeGradientResult vae_gradient(Vae& vae, int slot, const Matrix& x, const NodeEstimate& estimate,
                               const std::optional<KlWeight>& kl, VaeGradientScratch& scratch);

// The same with the encoder's pass already done: scratch.node holds vae.encode(slot, x, ...) at the
// current parameters, and the encoder's cache at `slot` is that pass's (nothing has run the encoder
// at `slot` since). The probe, whose parameters are frozen across its draws, encodes once and calls
// this per draw: the encoder's forward product is not repeated, and the gradient is bit-identical.
VaeGradientResult vae_gradient_encoded(Vae& vae, int slot, const NodeEstimate& estimate,
                                       const std::optional<KlWeight>& kl, VaeGradientScratch& scratch);

}  // namespace gradest
