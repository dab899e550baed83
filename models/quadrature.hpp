#pragma once
// One-dimensional Gaussian expectations by numerical integration, in double (whatever Real is).
//
// gaussian_expectation(g, mu, sigma) = E_{x ~ N(mu, sigma^2)}[g(x)] = int g(mu + sigma t) phi(t) dt.
// Method: the real line is mapped onto (-1, 1) by t = u / (1 - u^2) (Boost.Math's map for infinite
// intervals), and the mapped integrand is integrated by globally adaptive 61-point Gauss-Kronrod
// (Boost.Math's non-adaptive rule on each segment; the segment with the largest error estimate is
// bisected until the summed error estimate is at most
//     max(absolute_tolerance, relative_tolerance * int |g(x)| phi dt)
// or max_segments is reached). The tolerance is relative to the L1 norm, not to the value, so an
// expectation that cancels to (near) zero converges instead of bisecting forever.
// The error estimate is Boost's |Kronrod - Gauss| per segment, summed: pessimistic for smooth
// integrands (the Kronrod value is usually far more accurate than the estimate says).
//
// The integrand may be infinite or NaN only where phi(t) underflows to 0 (|t| > ~38.6): such
// points contribute 0, so g(x) = exp(c x^2) with c < 1/(2 sigma^2) is fine.
//
// gauss_hermite_rule(n): the n-point Gauss-Hermite rule for N(0, 1) (probabilists' weight), exact
// for polynomials of degree <= 2n - 1; the building block for tensor-product rules in several
// dimensions. Nodes by Golub-Welsch (eigenvalues of the Jacobi matrix), weights as Christoffel
// numbers from the three-term recurrence (relative accuracy even for the tiny outer weights).
#include <functional>
#include <string>
#include <vector>

namespace gradest {

struct QuadratureOptions {
  double relative_tolerance = 1e-13;  // of int |g| phi
  double absolute_tolerance = 0.0;
  int max_segments = 4000;

  // False with a one-line reason.
  bool valid(std::string* error) const;
};

struct QuadratureResult {
  double value = 0;
  double error = 0;       // estimated absolute error of value
  double l1 = 0;          // estimate of E[|g(x)|]
  int segments = 0;
  bool converged = false;  // error within tolerance before max_segments
};

// E_{N(mu, sigma^2)}[g(x)]; sigma > 0.
QuadratureResult gaussian_expectation(const std::function<double(double)>& g, double mu, double sigma,
                                      const QuadratureOptions& options = {});

struct GaussHermiteRule {
  std::vector<double> nodes;    // ascending
  std::vector<double> weights;  // positive, summing to 1
};
// n >= 1.
GaussHermiteRule gauss_hermite_rule(int n);

}  // namespace gradest
