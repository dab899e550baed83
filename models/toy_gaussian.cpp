#include "models/toy_gaussian.hpp"

#include <fmt/format.h>

#include <cassert>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace gradest {

std::string_view to_string(GaussianCost cost) {
  switch (cost) {
    case GaussianCost::square: return "square";
    case GaussianCost::exp: return "exp";
    case GaussianCost::cos: return "cos";
  }
  return "?";
}

std::optional<GaussianCost> parse_gaussian_cost(std::string_view name) {
  for (auto cost : kGaussianCosts)
    if (to_string(cost) == name) return cost;
  return std::nullopt;
}

std::string gaussian_cost_names() {
  std::string out;
  for (auto cost : kGaussianCosts) out += (out.empty() ? "" : ", ") + std::string(to_string(cost));
  return out;
}

std::string_view to_string(GaussianToyEstimator estimator) {
  switch (estimator) {
    case GaussianToyEstimator::score_function: return "score_function";
    case GaussianToyEstimator::score_function_mean_baseline: return "score_function_mean_baseline";
    case GaussianToyEstimator::score_function_optimal_baseline: return "score_function_optimal_baseline";
    case GaussianToyEstimator::pathwise: return "pathwise";
  }
  return "?";
}

std::string_view to_string(GaussianParameter parameter) {
  return parameter == GaussianParameter::mu ? "mu" : "sigma";
}

double GaussianTestCost::value(double x) const {
  switch (cost) {
    case GaussianCost::square: return (x - k) * (x - k);
    case GaussianCost::exp: return std::exp(-k * x * x);
    case GaussianCost::cos: return std::cos(k * x);
  }
  return 0;
}

double GaussianTestCost::derivative(double x) const {
  switch (cost) {
    case GaussianCost::square: return 2.0 * (x - k);
    case GaussianCost::exp: return -2.0 * k * x * std::exp(-k * x * x);
    case GaussianCost::cos: return -k * std::sin(k * x);
  }
  return 0;
}

bool GaussianTestCost::finite_variances(double sigma) const {
  // f^2 ~ exp(-2k x^2) against exp(-x^2 / (2 sigma^2)).
  return cost != GaussianCost::exp || 2.0 * k + 1.0 / (2.0 * sigma * sigma) > 0;
}

double GaussianToyExact::baseline(GaussianToyEstimator estimator, GaussianParameter parameter) const {
  switch (estimator) {
    case GaussianToyEstimator::score_function_mean_baseline: return expected_cost;
    case GaussianToyEstimator::score_function_optimal_baseline: return optimal_baseline[static_cast<int>(parameter)];
    default: return 0.0;
  }
}

double single_sample_estimate(GaussianToyEstimator estimator, GaussianParameter parameter, const GaussianTestCost& f,
                              double mu, double sigma, double baseline, double x) {
  const double eps = (x - mu) / sigma;
  if (estimator == GaussianToyEstimator::pathwise)
    return parameter == GaussianParameter::mu ? f.derivative(x) : f.derivative(x) * eps;
  const double score = parameter == GaussianParameter::mu ? eps / sigma : (eps * eps - 1.0) / sigma;
  return (f.value(x) - baseline) * score;
}

GaussianToyExact gaussian_toy_exact(const GaussianTestCost& f, double mu, double sigma, const QuadratureOptions& options) {
  if (!(sigma > 0) || !std::isfinite(sigma) || !std::isfinite(mu) || !std::isfinite(f.k))
    throw std::invalid_argument(fmt::format("gaussian toy: need finite mu, k and sigma > 0, got mu {}, sigma {}, k {}",
                                            mu, sigma, f.k));
  if (!f.finite_variances(sigma))
    throw std::invalid_argument(fmt::format(
        "gaussian toy: the exp cost needs k > -1/(4 sigma^2) = {} for finite variances, got k {}",
        -1.0 / (4.0 * sigma * sigma), f.k));
  GaussianToyExact exact;
  auto expect = [&](auto&& g) {
    const QuadratureResult r = gaussian_expectation(g, mu, sigma, options);
    exact.quadrature_error = std::max(exact.quadrature_error, r.error);
    exact.converged = exact.converged && r.converged;
    return r.value;
  };
  exact.expected_cost = expect([&](double x) { return f.value(x); });
  exact.gradient[0] = expect([&](double x) { return f.derivative(x); });
  exact.gradient[1] = expect([&](double x) { return f.derivative(x) * (x - mu) / sigma; });
  // c*_theta = E[f s^2] / E[s^2]: E[s_mu^2] = 1/sigma^2, E[s_sigma^2] = 2/sigma^2.
  exact.optimal_baseline[0] = expect([&](double x) {
    const double s = (x - mu) / (sigma * sigma);
    return f.value(x) * s * s;
  }) * sigma * sigma;
  exact.optimal_baseline[1] = expect([&](double x) {
    const double eps = (x - mu) / sigma, s = (eps * eps - 1.0) / sigma;
    return f.value(x) * s * s;
  }) * sigma * sigma / 2.0;
  // The fourth moment needs f^4 integrable: for exp, 4k + 1/(2 sigma^2) > 0.
  const bool fourth_finite = f.cost != GaussianCost::exp || 4.0 * f.k + 1.0 / (2.0 * sigma * sigma) > 0;
  for (auto e : kGaussianToyEstimators)
    for (auto p : kGaussianParameters) {
      const double c = exact.baseline(e, p), g = exact.gradient_of(p);
      auto centred = [&, e, p, c, g](double x) { return single_sample_estimate(e, p, f, mu, sigma, c, x) - g; };
      const int ei = static_cast<int>(e), pi = static_cast<int>(p);
      exact.variance[ei][pi] = expect([&](double x) {
        const double d = centred(x);
        return d * d;
      });
      exact.fourth_moment[ei][pi] = fourth_finite ? expect([&](double x) {
        const double d = centred(x);
        return d * d * d * d;
      })
                                                  : std::numeric_limits<double>::infinity();
    }
  return exact;
}

void GaussianCostObjective::do_evaluate(int slot, const Matrix& z, Vector& value) {
  assert(slot >= 0 && slot < kSlots && z.rows() % batch_ == 0);
  z_[slot] = z;
  value.resize(z.rows());
  for (Index r = 0; r < z.rows(); ++r) {
    double sum = 0;
    for (Index j = 0; j < z.cols(); ++j) sum += cost_.value(static_cast<double>(z(r, j)));
    value(r) = static_cast<Real>(sum);
  }
}

void GaussianCostObjective::backward(int slot, const Vector& weight, Matrix* grad_z) {
  assert(slot >= 0 && slot < kSlots && weight.size() == z_[slot].rows());
  if (!grad_z) return;
  const Matrix& z = z_[slot];
  grad_z->resize(z.rows(), z.cols());
  for (Index j = 0; j < z.cols(); ++j)
    for (Index r = 0; r < z.rows(); ++r)
      (*grad_z)(r, j) = weight(r) * static_cast<Real>(cost_.derivative(static_cast<double>(z(r, j))));
}

}  // namespace gradest
