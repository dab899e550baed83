#include "models/quadrature.hpp"

#include <fmt/format.h>

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <cmath>
#include <numbers>
#include <queue>
#include <stdexcept>

namespace gradest {

bool QuadratureOptions::valid(std::string* error) const {
  auto fail = [&](std::string message) {
    if (error) *error = std::move(message);
    return false;
  };
  if (!(relative_tolerance >= 0)) return fail(fmt::format("relative tolerance must be >= 0, got {}", relative_tolerance));
  if (!(absolute_tolerance >= 0)) return fail(fmt::format("absolute tolerance must be >= 0, got {}", absolute_tolerance));
  if (relative_tolerance == 0 && absolute_tolerance == 0)
    return fail("one of the relative and absolute tolerances must be > 0");
  if (max_segments < 1) return fail(fmt::format("max segments must be >= 1, got {}", max_segments));
  return true;
}

namespace {

struct Segment {
  double a, b, value, error, l1;
  bool operator<(const Segment& other) const { return error < other.error; }
};

}  // namespace

QuadratureResult gaussian_expectation(const std::function<double(double)>& g, double mu, double sigma,
                                      const QuadratureOptions& options) {
  std::string message;
  if (!options.valid(&message)) throw std::invalid_argument("gaussian_expectation: " + message);
  if (!(sigma > 0) || !std::isfinite(sigma) || !std::isfinite(mu))
    throw std::invalid_argument(fmt::format("gaussian_expectation: need finite mu and sigma > 0, got {}, {}", mu, sigma));
  const double inv_sqrt_2pi = 1.0 / std::sqrt(2.0 * std::numbers::pi);
  // The mapped integrand on (-1, 1); Gauss-Kronrod nodes never hit the end points.
  auto mapped = [&](double u) {
    const double inv = 1.0 / (1.0 - u * u);
    const double t = u * inv;
    const double density = inv_sqrt_2pi * std::exp(-0.5 * t * t);
    if (density == 0.0) return 0.0;
    return g(mu + sigma * t) * density * (1.0 + u * u) * inv * inv;
  };
  using Rule = boost::math::quadrature::gauss_kronrod<double, 61>;
  auto integrate = [&](double a, double b) {
    Segment s{a, b, 0, 0, 0};
    s.value = Rule::integrate(mapped, a, b, 0, 0.0, &s.error, &s.l1);
    return s;
  };

  std::priority_queue<Segment> queue;
  QuadratureResult result;
  double error = 0, l1 = 0;  // running sums over the queue; the value is summed once at the end
  // Start from two halves so that u = 0 (the mean) is an end point, not a lone node.
  for (const auto& s : {integrate(-1.0, 0.0), integrate(0.0, 1.0)}) {
    error += s.error;
    l1 += s.l1;
    queue.push(s);
  }
  while (true) {
    const double tolerance = std::max(options.absolute_tolerance, options.relative_tolerance * l1);
    if (error <= tolerance) {
      result.converged = true;
      break;
    }
    if (static_cast<int>(queue.size()) >= options.max_segments) break;
    const Segment worst = queue.top();
    queue.pop();
    const double mid = 0.5 * (worst.a + worst.b);
    if (!(mid > worst.a && mid < worst.b)) {  // cannot bisect further in double
      queue.push(worst);
      break;
    }
    const Segment left = integrate(worst.a, mid), right = integrate(mid, worst.b);
    error += left.error + right.error - worst.error;
    l1 += left.l1 + right.l1 - worst.l1;
    queue.push(left);
    queue.push(right);
  }
  result.segments = static_cast<int>(queue.size());
  while (!queue.empty()) {
    result.value += queue.top().value;
    result.error += queue.top().error;
    result.l1 += queue.top().l1;
    queue.pop();
  }
  return result;
}

GaussHermiteRule gauss_hermite_rule(int n) {
  if (n < 1) throw std::invalid_argument(fmt::format("gauss_hermite_rule: n must be >= 1, got {}", n));
  // Jacobi matrix of the probabilists' Hermite polynomials: He_{k+1} = t He_k - k He_{k-1}.
  Eigen::MatrixXd jacobi = Eigen::MatrixXd::Zero(n, n);
  for (int k = 1; k < n; ++k) jacobi(k, k - 1) = jacobi(k - 1, k) = std::sqrt(static_cast<double>(k));
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(jacobi);
  GaussHermiteRule rule;
  rule.nodes.resize(n);
  rule.weights.resize(n);
  for (int i = 0; i < n; ++i) {
    // Christoffel numbers w = 1 / sum_k p_k(t)^2 with the orthonormal p_k = He_k / sqrt(k!): a sum of
    // positive terms, so the tiny weights of the outer nodes keep their relative accuracy (the
    // eigenvectors' first components would give them only absolute accuracy).
    const double t = solver.eigenvalues()(i);
    double previous = 0.0, current = 1.0, sum = 1.0;
    for (int k = 0; k + 1 < n; ++k) {
      const double next = (t * current - std::sqrt(static_cast<double>(k)) * previous) / std::sqrt(k + 1.0);
      previous = current;
      current = next;
      sum += current * current;
    }
    rule.nodes[i] = t;
    rule.weights[i] = 1.0 / sum;
  }
  // Symmetrise: the exact rule is symmetric about 0; averaging removes the solver's asymmetric noise.
  for (int i = 0; i < n / 2; ++i) {
    const int j = n - 1 - i;
    const double node = 0.5 * (rule.nodes[j] - rule.nodes[i]);
    const double weight = 0.5 * (rule.weights[i] + rule.weights[j]);
    rule.nodes[i] = -node, rule.nodes[j] = node;
    rule.weights[i] = rule.weights[j] = weight;
  }
  if (n % 2 == 1) rule.nodes[n / 2] = 0.0;
  return rule;
}

}  // namespace gradest
