#pragma once
// Exact expectations over Bernoulli latents by enumerating every configuration: the reference
// against which Bernoulli estimators are tested (estimators/exact.hpp, tests, the probe's bias
// columns).
//
// Configuration c in [0, 2^k) sets z_j = (c >> j) & 1. Enumerated rows are sample-major like every
// sample matrix (models/stochastic.hpp): row i*B + b holds configuration first+i for data point b.
// Sums over configurations are taken in double; f and log q come from the node and objective in Real.
#include <cstdint>

#include "models/stochastic.hpp"
#include "models/types.hpp"

namespace gradest {

// Enumeration refuses more than 2^16 configurations (per data point and K-tuple).
inline constexpr int kMaxEnumeratedBits = 16;

// Fills z ((count*batch) x k) with configurations first .. first+count-1, each repeated for the
// batch's data points.
void enumerate_configurations(Index k, Index batch, std::uint64_t first, std::uint64_t count, Matrix& z);

// Exact E_{q(z|x_b)}[f(x_b, z)] for each data point b (returned, length B) of a Bernoulli node.
// If node_grad is not null, adds the exact gradient sum_b d/dlogits E_q[f] = sum_z q(z) f(z) (z - sigmoid(logits)).
// If objective_gradient, calls objective.backward with weights q(z_r): adds the exact gradient
// sum_b E_q[grad_theta f(x_b, z)] to the objective's own parameters.
// Cost: 2^k * B objective evaluations, in chunks of at most 2^16 rows (slot 0).
// Throws std::invalid_argument if the node is not Bernoulli or k > kMaxEnumeratedBits.
VectorD exact_bernoulli_expectation(const StochasticNode& node, Objective& objective, NodeGradient* node_grad,
                                    bool objective_gradient);

// Exact K-sample bound E_{z_1..K ~ q}[ log (1/K) sum_i exp(f(x_b, z_i) - log q(z_i|x_b)) ] for each
// data point b (returned), enumerating all 2^(kK) K-tuples (k*K <= kMaxEnumeratedBits).
// Gradients as above: with L the bound of a tuple and wn_i its normalised weights,
//   d/dlogits = E[ sum_i (L - wn_i) (z_i - sigmoid(logits)) ],  d/dtheta = E[ sum_i wn_i grad_theta f(z_i) ].
// Cost: 2^k * B objective evaluations (slot 0), once. Throws std::invalid_argument if k*K is too large,
// K < 1 or the node is not Bernoulli.
VectorD exact_bernoulli_importance_bound(const StochasticNode& node, Objective& objective, int K,
                                         NodeGradient* node_grad, bool objective_gradient);

}  // namespace gradest
