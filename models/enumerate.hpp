#pragma once
// Exact expectations over the latents of an enumerable family (Bernoulli, categorical) by
// enumerating every configuration: the reference against which their estimators are tested
// (estimators/exact.hpp, tests, the probe's bias columns).
//
// With C = the family's support size, configuration c in [0, C^k) sets latent j to (c / C^j) mod C
// (Bernoulli: z_j = (c >> j) & 1; LatentFamily::configuration). Enumerated rows are sample-major
// like every sample matrix (models/stochastic.hpp): row i*B + b holds configuration first+i for
// data point b. Sums over configurations are taken in double; f and log q come from the node and
// objective in Real.
#include <cstdint>

#include "models/stochastic.hpp"
#include "models/types.hpp"

namespace gradest {

class LatentFamily;

// Enumeration refuses more than 2^16 configurations (per data point and K-tuple).
inline constexpr int kMaxEnumeratedBits = 16;
inline constexpr std::uint64_t kMaxEnumerated = std::uint64_t{1} << kMaxEnumeratedBits;

// C^k, or 0 when it exceeds kMaxEnumerated (or the family is not enumerable).
std::uint64_t configuration_count(const LatentFamily& family, Index k);

// Fills z ((count*batch) x sample_columns(k)) with configurations first .. first+count-1, each
// repeated for the batch's data points. The first overload is for Bernoulli latents.
void enumerate_configurations(Index k, Index batch, std::uint64_t first, std::uint64_t count, Matrix& z);
void enumerate_configurations(const LatentFamily& family, Index k, Index batch, std::uint64_t first,
                              std::uint64_t count, Matrix& z);

// Exact E_{q(z|x_b)}[f(x_b, z)] for each data point b (returned, length B) of an enumerable node.
// If node_grad is not null, adds the exact gradient sum_b d/dnode E_q[f] = sum_z q(z) f(z) d log q(z)
// (Bernoulli: z - sigmoid(logits)).
// If objective_gradient, calls objective.backward with weights q(z_r): adds the exact gradient
// sum_b E_q[grad_theta f(x_b, z)] to the objective's own parameters.
// Cost: C^k * B objective evaluations, in chunks of at most 2^16 rows (slot 0).
// Throws std::invalid_argument if the node is not enumerable or C^k > 2^16.
VectorD exact_enumerated_expectation(const StochasticNode& node, Objective& objective, NodeGradient* node_grad,
                                    bool objective_gradient);

// Exact K-sample bound E_{z_1..K ~ q}[ log (1/K) sum_i exp(f(x_b, z_i) - log q(z_i|x_b)) ] for each
// data point b (returned), enumerating all C^(kK) K-tuples (at most 2^16).
// Gradients as above: with L the bound of a tuple and wn_i its normalised weights,
//   d/dnode = E[ sum_i (L - wn_i) d log q(z_i) ],  d/dtheta = E[ sum_i wn_i grad_theta f(z_i) ].
// Cost: C^k * B objective evaluations (slot 0), once. Throws std::invalid_argument if C^(kK) is too
// large, K < 1 or the node is not enumerable.
VectorD exact_enumerated_importance_bound(const StochasticNode& node, Objective& objective, int K,
                                         NodeGradient* node_grad, bool objective_gradient);

}  // namespace gradest
