#pragma once
// Elementwise helpers for the two latent families: sampling, log-densities and their scores.
// Numerically stable forms throughout (log-sigmoid via softplus).
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

// Rows of `m` (B x k) repeated S times, sample-major: row s*B + b is row b of m.
Matrix repeat_rows(const Matrix& m, int samples);

// Draws S samples per data point from `node` into z (S*B x k). For Gaussian nodes `noise` receives
// the standard-normal eps with z = mean + exp(log_var/2) * eps; for Bernoulli nodes it receives the
// uniforms u with z = [u < sigmoid(logit)].
void sample_node(const StochasticNode& node, int samples, Rng& rng, Matrix& z, Matrix& noise);

// log q(z_r | params_{r mod B}) summed over the k columns, for each row r of z.
void log_prob(const StochasticNode& node, const Matrix& z, Vector& out);

// Adds sum_r weight_r * d log q(z_r) / d params into grad (the score function; rows r mod B).
void accumulate_score(const StochasticNode& node, const Matrix& z, const Vector& weight, NodeGradient& grad);

// Adds the pathwise (reparameterisation) gradient: given dz = weight_r * df/dz_r (S*B x k) and the
// eps used to make z, adds sum_r dz_r * dz_r/dparams into grad. Gaussian nodes only.
void accumulate_reparam(const StochasticNode& node, const Matrix& dz, const Matrix& eps, NodeGradient& grad);

}  // namespace gradest
