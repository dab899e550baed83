#pragma once
// The shared core of the reparameterised importance-weighted estimators (iwae, stl, dreg): not an
// estimator itself.
//
// For a Gaussian node and an objective with joint terms (f = log p(x, z)), draw_importance_samples
//   - draws K reparameterised samples per data point, z_k = mu + sigma eps_k (rows k*B + b),
//   - evaluates f (objective slot 0) and log q, log w_k = f(z_k) - log q(z_k | x),
//   - normalises the weights per data point, wtilde_k = w_k / sum_j w_j (log-sum-exp in double),
//   - calls objective.backward(0, wtilde, &dz): the decoder/prior gradient of the K-sample bound,
//     sum_k wtilde_k grad_theta f(z_k), goes into the objective's own gradient, and
//     dz row r = wtilde_r * df/dz(z_r).
// Each estimator then forms its encoder gradient from these in a few lines.
//
// Throws std::invalid_argument (naming `estimator`) if the node is not Gaussian, if the objective's
// terms are `likelihood` (the bound needs log p(x, z); with a likelihood-only f the weights would
// silently omit the prior), or if the objective is not differentiable in z.
#include <string_view>

#include "estimators/estimator.hpp"

namespace gradest {

struct ImportanceSamples {
  Matrix z, eps;   // K*B x d
  Matrix dz;       // K*B x d: wtilde_r * df/dz(z_r)
  Vector f, log_q, wtilde;  // K*B
  VectorD bound;   // B: log (1/K) sum_k w_k, the sample's value of the bound per data point
};

void draw_importance_samples(std::string_view estimator, const StochasticNode& node, Objective& objective,
                             int samples, Rng& rng, ImportanceSamples& out);

}  // namespace gradest
