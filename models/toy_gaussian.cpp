#include "models/toy_gaussian.hpp"

#include <fmt/format.h>

#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <cassert>
#include <functional>
#include <numbers>
#include <tuple>
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
    case GaussianToyEstimator::measure_valued: return "measure_valued";
    case GaussianToyEstimator::measure_valued_uncoupled: return "measure_valued_uncoupled";
  }
  return "?";
}

bool single_draw(GaussianToyEstimator estimator) {
  return estimator != GaussianToyEstimator::measure_valued && estimator != GaussianToyEstimator::measure_valued_uncoupled;
}

int evaluations_per_estimate(GaussianToyEstimator estimator) { return single_draw(estimator) ? 1 : 4; }

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

namespace {

using Integrand = std::function<double(double)>;

// E[h(W)], W ~ Rayleigh(1) (density w exp(-w^2/2) on (0, inf)); and E[h(E)], E ~ Exp(mean 2).
double rayleigh_expectation(const Integrand& h, double* error) {
  double e = 0;
  const double value = boost::math::quadrature::gauss_kronrod<double, 61>::integrate(
      [&](double w) {
        const double density = w * std::exp(-0.5 * w * w);
        return density > 0 ? h(w) * density : 0.0;  // where the density underflows, h may overflow
      },
      0.0,
      std::numeric_limits<double>::infinity(), 15, 1e-13, &e);
  *error = std::max(*error, e);
  return value;
}
double exponential_expectation(const Integrand& h, double* error) {
  double e = 0;
  const double value = boost::math::quadrature::gauss_kronrod<double, 61>::integrate(
      [&](double x) {
        const double density = 0.5 * std::exp(-0.5 * x);
        return density > 0 ? h(x) * density : 0.0;
      },
      0.0, std::numeric_limits<double>::infinity(), 15,
      1e-13, &e);
  *error = std::max(*error, e);
  return value;
}

// Central moments of c (A - B): A and B independent with the given means, variances and fourth
// central moments: E (a - b)^2 = Va + Vb, E (a - b)^4 = M4a + 6 Va Vb + M4b.
struct Moments {
  double mean = 0, variance = 0, fourth = 0;
};
std::pair<double, double> difference_moments(double c, const Moments& a, const Moments& b) {
  const double c2 = c * c;
  return {c2 * (a.variance + b.variance), c2 * c2 * (a.fourth + 6 * a.variance * b.variance + b.fourth)};
}

// The measure-valued estimators' exact variances and fourth central moments (see the header).
template <class Expect>
void measure_valued_moments(const GaussianTestCost& f, double mu, double sigma, bool fourth_finite,
                            GaussianToyExact& exact, Expect&& expect) {
  const double inf = std::numeric_limits<double>::infinity();
  const double c_mu = 1.0 / (sigma * std::sqrt(2.0 * std::numbers::pi)), c_sigma = 1.0 / sigma;
  const double g_mu = exact.gradient[0], g_sigma = exact.gradient[1];
  double error = 0;
  // Moments of f at a transformed variate, from an expectation operator over that variate.
  auto moments_of = [&](auto&& expectation, auto&& point) {
    Moments m;
    m.mean = expectation([&](double v) { return f.value(point(v)); });
    m.variance = expectation([&](double v) { return std::pow(f.value(point(v)) - m.mean, 2); });
    m.fourth = fourth_finite ? expectation([&](double v) { return std::pow(f.value(point(v)) - m.mean, 4); }) : inf;
    return m;
  };
  auto rayleigh = [&](const Integrand& h) { return rayleigh_expectation(h, &error); };
  auto normal = [&](const Integrand& h) { return expect(h); };                                  // x ~ N(mu, sigma^2)
  auto maxwell = [&](const Integrand& h) { return expect([&](double x) { const double z = (x - mu) / sigma; return h(z) * z * z; }); };

  const int coupled = static_cast<int>(GaussianToyEstimator::measure_valued);
  const int uncoupled = static_cast<int>(GaussianToyEstimator::measure_valued_uncoupled);
  // d/dmu, coupled: c (f(mu + sigma W) - f(mu - sigma W)).
  auto coupled_mu = [&](double w) { return c_mu * (f.value(mu + sigma * w) - f.value(mu - sigma * w)) - g_mu; };
  exact.variance[coupled][0] = rayleigh([&](double w) { return std::pow(coupled_mu(w), 2); });
  exact.fourth_moment[coupled][0] = fourth_finite ? rayleigh([&](double w) { return std::pow(coupled_mu(w), 4); }) : inf;
  // d/dmu, uncoupled.
  const Moments plus = moments_of(rayleigh, [&](double w) { return mu + sigma * w; });
  const Moments minus = moments_of(rayleigh, [&](double w) { return mu - sigma * w; });
  std::tie(exact.variance[uncoupled][0], exact.fourth_moment[uncoupled][0]) = difference_moments(c_mu, plus, minus);
  // d/dsigma, uncoupled: (f(mu + sigma M) - f(mu + sigma Z)) / sigma, M double-sided Maxwell.
  const Moments maxwell_point = moments_of(maxwell, [&](double z) { return mu + sigma * z; });
  const Moments normal_point = moments_of(normal, [&](double x) { return x; });
  std::tie(exact.variance[uncoupled][1], exact.fourth_moment[uncoupled][1]) =
      difference_moments(c_sigma, maxwell_point, normal_point);
  // d/dsigma, coupled: Z ~ N(0, 1), M = sign(Z) sqrt(Z^2 + E): E over Exp(mean 2) inside, Z outside.
  auto coupled_sigma = [&](double z, double e) {
    const double m = std::copysign(std::sqrt(z * z + e), z);
    return c_sigma * (f.value(mu + sigma * m) - f.value(mu + sigma * z)) - g_sigma;
  };
  // The outer integrand carries the inner integral's error (~1e-13 relative), so the outer adaptive
  // rule is asked for 1e-10 (still far below any sampling error a test can resolve).
  auto nested = [&](int power) {
    QuadratureOptions outer;
    outer.relative_tolerance = 1e-10;
    const QuadratureResult r = gaussian_expectation(
        [&](double x) {
          const double z = (x - mu) / sigma;
          return exponential_expectation([&](double e) { return std::pow(coupled_sigma(z, e), power); }, &error);
        },
        mu, sigma, outer);
    exact.converged = exact.converged && r.converged;
    error = std::max(error, r.error);
    return r.value;
  };
  exact.variance[coupled][1] = nested(2);
  exact.fourth_moment[coupled][1] = fourth_finite ? nested(4) : inf;
  exact.quadrature_error = std::max(exact.quadrature_error, error);
}

}  // namespace

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
      if (!single_draw(e)) continue;
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
  measure_valued_moments(f, mu, sigma, fourth_finite, exact, expect);
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
