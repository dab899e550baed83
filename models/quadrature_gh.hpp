#pragma once
// Tensor-product Gauss-Hermite quadrature for expectations under a standard normal in a few
// dimensions, in double (whatever Real is): the exact references of Gaussian-latent problems.
//
//   E_{eps ~ N(0, I_dims)}[ g(eps) ]  ~=  sum_{i_1..i_dims} w_{i_1} ... w_{i_dims} g(t_{i_1}, ..., t_{i_dims})
//
// with the n-point probabilists' rule of models/quadrature.hpp (exact for polynomials of degree
// <= 2n - 1 in each coordinate). Cost n^dims evaluations of g: meant for dims <= 4 or so.
// g is vector-valued (a value and a gradient, say): g(eps, out) ADDS nothing, it WRITES out
// (an Eigen::VectorXd of the result's size, set before the first call).
//
// gauss_hermite_expectation_checked integrates at two orders and refuses (throws std::runtime_error
// naming both orders and the difference) when any component differs by more than
// tolerance * max(1, |value|): it returns only answers it can vouch for. A smooth integrand of
// polynomial growth (log-sum-exp of Gaussian log-weights, its derivatives) converges fast.
#include <Eigen/Core>
#include <cmath>
#include <fmt/format.h>
#include <stdexcept>
#include <vector>

#include "models/quadrature.hpp"

namespace gradest {

template <class G>
Eigen::VectorXd gauss_hermite_expectation(int dims, int order, Eigen::Index size, G&& g) {
  if (dims < 1 || order < 1)
    throw std::invalid_argument(fmt::format("gauss_hermite_expectation: dims and order must be >= 1, got {} and {}", dims, order));
  const GaussHermiteRule rule = gauss_hermite_rule(order);
  std::vector<int> index(dims, 0);
  Eigen::VectorXd eps(dims), value(size), sum = Eigen::VectorXd::Zero(size);
  for (;;) {
    double weight = 1;
    for (int i = 0; i < dims; ++i) {
      eps(i) = rule.nodes[index[i]];
      weight *= rule.weights[index[i]];
    }
    g(static_cast<const Eigen::VectorXd&>(eps), value);
    sum += weight * value;
    int i = 0;  // odometer increment
    while (i < dims && ++index[i] == order) index[i++] = 0;
    if (i == dims) break;
  }
  return sum;
}

struct GaussHermiteCheck {
  int order = 24;
  int check_order = 32;
  double tolerance = 1e-10;  // per component, relative to max(1, |value|)
};

template <class G>
Eigen::VectorXd gauss_hermite_expectation_checked(int dims, Eigen::Index size, G&& g, const GaussHermiteCheck& check = {}) {
  const Eigen::VectorXd value = gauss_hermite_expectation(dims, check.check_order, size, g);
  const Eigen::VectorXd coarse = gauss_hermite_expectation(dims, check.order, size, g);
  for (Eigen::Index i = 0; i < size; ++i) {
    const double difference = std::abs(value(i) - coarse(i));
    if (!(difference <= check.tolerance * std::max(1.0, std::abs(value(i)))))
      throw std::runtime_error(fmt::format(
          "Gauss-Hermite quadrature not converged: component {} differs by {:.3g} between orders {} and {}", i,
          difference, check.order, check.check_order));
  }
  return value;
}

}  // namespace gradest
