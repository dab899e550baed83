#pragma once
// Exact reference gradients of a VAE's training objectives for a data batch: the yardstick of the
// gradient probe's bias columns (run/probe.hpp), of `gradest check-unbiased` and of the
// unbiasedness regression suite (tests/test_unbiased.cpp). Models know nothing of estimators: the
// objective is named by K, the number of importance samples (0 = the ELBO).
//
// Objectives (sums over the batch's B data points, to MAXIMISE; models/stochastic.hpp):
//   ELBO (K = 0):    sum_b  E_{q(z|x_b)}[ log p(x_b|z) ] - KL(q(z|x_b) || p(z))        (analytic KL,
//                    beta = 1, no free bits: the bound itself, what the trainer optimises at beta 1)
//   K-sample bound:  sum_b  E_{z_1..K ~ q}[ log (1/K) sum_i p(x_b, z_i) / q(z_i|x_b) ]
// The gradient is with respect to EVERY parameter of the Vae (flat, the layout of
// Vae::parameters().values(): encoder, decoder, prior), back-propagated through the encoder.
//
// How (exact up to floating point, or refused):
//   Bernoulli latents: enumeration of the 2^k configurations (k <= 16), or of the 2^(kK) K-tuples
//     (k*K <= 16), by models/enumerate.hpp.
//   Gaussian latents: tensor-product Gauss-Hermite quadrature over the reparameterisation noise
//     z = mu + exp(log_var / 2) eps, eps ~ N(0, I): d dimensions (ELBO, d <= 2) or K*d dimensions
//     (bound, K*d <= 4). The integrand's gradient is the pathwise one:
//       ELBO:  d/dmu = E[df/dz],  d/dlog_var = E[df/dz * eps * sigma / 2]   (f = log p(x|z))
//       bound: d/dmu = E[sum_i wn_i df/dz_i],
//              d/dlog_var = E[sum_i wn_i (df/dz_i * eps_i * sigma / 2 + 1/2)]  (f = log p(x, z);
//              wn_i the normalised importance weights; log q along the path is -eps^2/2 - log_var/2)
//     computed at increasing orders (24, 32, 48, 64, 96, 128 up to 2 dimensions; 12, 16, 20, 24 for
//     3-4) until two consecutive orders agree to tolerance * max(1, |component|) in the objective
//     and every gradient component (the higher order's answer is returned); if no pair agrees,
//     std::runtime_error names the last two orders and the difference: no answer is returned that
//     the check cannot vouch for. (Integrands with steep tanh/ReLU features converge slowly.)
// Anything else (too many latents, K*d too large) throws std::invalid_argument with the limit;
// exact_reference_available() says beforehand.
//
// Side effects: uses the Vae's objective (slot 0), encoder slot Network::kInferenceSlot, and its
// gradient() as scratch; gradient() is restored before returning. Parameters are not changed.
#include <string>

#include "models/types.hpp"
#include "models/vae.hpp"

namespace gradest {

struct ExactReferenceOptions {
  int importance_samples = 0;  // K: 0 = ELBO, >= 1 = the K-sample bound
  // Gauss-Hermite orders: both 0 = the automatic sequence above; otherwise exactly this pair.
  int order = 0, check_order = 0;
  // Agreement required between the two orders, per component, relative to max(1, |component|).
  // Automatic (0): 1e-8 with Real = double, 2e-4 with float32 (float round-off of sums over
  // thousands of quadrature rows is ~1e-5).
  double tolerance = 0;
};

struct ExactGradient {
  double value = 0;     // the objective (batch sum)
  VectorD gradient;     // its gradient, layout of Vae::parameters().values()
};

// Whether exact_gradient can handle this model and K; false with a one-line reason.
bool exact_reference_available(const Vae& vae, int importance_samples, std::string* why_not);

// The exact objective and gradient for the batch x (B x D). See the header comment.
ExactGradient exact_gradient(Vae& vae, const Matrix& x, const ExactReferenceOptions& options = {});

}  // namespace gradest
