#pragma once
// Elementwise helpers (numerically stable forms: log-sigmoid via softplus), and the node-level
// operations estimators call: each asks the node's latent family (models/latent_family.hpp).
#include <cmath>

#include "models/rng.hpp"
#include "models/stochastic.hpp"
#include "models/types.hpp"

namespace gradest {

template <class T>
inline T sigmoid(T x) {
  return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
}
// log(1 + exp(x))
template <class T>
inline T softplus(T x) {
  return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}
// log sigmoid(x) = -softplus(-x)
template <class T>
inline T log_sigmoid(T x) {
  return -softplus(-x);
}

// Elementwise on Eigen arrays, stable: log(1 + exp(g)) = max(g, 0) + log(1 + exp(-|g|)). log(1 + e)
// instead of log1p(e): Eigen vectorises exp and log but not log1p (scalar log1pf was 14% of a
// training step); the absolute error is at most half an ulp of 1 per term, below the rounding of
// the sums it enters.
template <class A>
auto softplus_array(const A& g) {
  using Scalar = typename A::Scalar;
  return g.max(Scalar(0)) + (Scalar(1) + (-g.abs()).exp()).log();
}
// sigmoid(g) = 1 / (1 + exp(-g)); exp overflow gives 1/inf = 0, which is the right limit.
template <class A>
auto sigmoid_array(const A& g) {
  return (typename A::Scalar(1) + (-g).exp()).inverse();
}

// The Bernoulli likelihood of binary (or [0, 1]) data x (B x D) under decoder logits g (S*B x D,
// sample-major: row s*B + b belongs to x_b), both column-major, without x repeated S times in
// memory: each works through groups of 8 columns that stay in L1, repeating x's columns there.
//
// acc(r) += sum_j x(r mod B, j) g(r, j) - softplus(g(r, j)), summed in double: the linear part
// x g - max(g, 0) per term, and log(1 + exp(-|g|)) as the log of the product of the group's 8
// factors (each in (1, 2], so the product stays in (1, 256]): one log per 8 terms instead of one
// each (Eigen's float log was 60% of the likelihood). The product's 7 roundings cost at most 7 ulps
// of a value below 5.6, the same order as the 8 separate logs' roundings it replaces.
void add_bernoulli_log_likelihood_rows(const Matrix& x, const Matrix& g, VectorD& acc);
// d_out(r, j) = weight(r) (x(r mod B, j) - sigmoid(g(r, j))), d/dg of weight(r) log p(x | g).
void bernoulli_log_likelihood_backward(const Matrix& x, const Matrix& g, const Vector& weight, Matrix& d_out);

// Rows of `m` (B x k) repeated S times, sample-major: row s*B + b is row b of m.
Matrix repeat_rows(const Matrix& m, int samples);

// Draws S samples per data point from `node` into z (S*B x k), and the noise that made them
// (LatentFamily::sample: Gaussian eps with z = mean + exp(log_var/2) * eps; Bernoulli uniforms u
// with z = [u < sigmoid(logit)]).
void sample_node(const StochasticNode& node, int samples, Rng& rng, Matrix& z, Matrix& noise);

// log q(z_r | params_{r mod B}) summed over the k columns, for each row r of z.
void log_prob(const StochasticNode& node, const Matrix& z, Vector& out);

// Adds sum_r weight_r * d log q(z_r) / d params into grad (the score function; rows r mod B).
void accumulate_score(const StochasticNode& node, const Matrix& z, const Vector& weight, NodeGradient& grad);

// Adds the pathwise (reparameterisation) gradient: given dz = weight_r * df/dz_r (S*B x k) and the
// eps used to make z, adds sum_r dz_r * dz_r/dparams into grad. Reparameterisable families only.
void accumulate_reparam(const StochasticNode& node, const Matrix& dz, const Matrix& eps, NodeGradient& grad);

}  // namespace gradest
