#pragma once
// The Gaussian test problems of Mohamed, Rosca, Figurnov and Mnih (2020, JMLR, "Monte Carlo
// Gradient Estimation in Machine Learning", section 3): q = N(mu, sigma^2) and one of three costs
//     square  f(x) = (x - k)^2        exp  f(x) = exp(-k x^2)        cos  f(x) = cos(k x)
// with the gradient of E_q[f] with respect to mu and sigma.
//
// Single-sample estimators (x = mu + sigma eps, eps ~ N(0, 1); scores s_mu = (x - mu)/sigma^2,
// s_sigma = ((x - mu)^2/sigma^2 - 1)/sigma):
// - score_function:                  f(x) s_theta(x)
// - score_function_mean_baseline:    (f(x) - c) s_theta(x),  c = E_q[f] (the same for mu and sigma)
// - score_function_optimal_baseline: (f(x) - c*_theta) s_theta(x),
//                                    c*_theta = E[f s_theta^2] / E[s_theta^2], the constant that
//                                    minimises the variance, one per parameter
// - pathwise:                        d/dmu: f'(x);   d/dsigma: f'(x) eps
// and the measure-valued gradients (Mohamed et al. section 6; estimators/measure_valued.hpp), whose
// one estimate takes two evaluations per parameter at points that are not x ~ q:
// - measure_valued (coupled):        d/dmu: (f(mu + sigma W) - f(mu - sigma W)) / (sigma sqrt(2 pi)),
//                                    W ~ Rayleigh(1);  d/dsigma: (f(mu + sigma M) - f(mu + sigma Z)) / sigma,
//                                    Z ~ N(0, 1), M = sign(Z) sqrt(Z^2 + E), E ~ Exp(mean 2) (a double-
//                                    sided Maxwell variate sharing Z's sign and first component)
// - measure_valued_uncoupled:        the same with the two points of each difference independent.
// All six are unbiased (a constant baseline has E[c s] = 0; the weak derivative is exact).
//
// gaussian_toy_exact() computes E_q[f], the gradient, the optimal constants and every estimator's
// exact single-sample variance (and fourth central moment) by numerical integration against the
// Gaussian (models/quadrature.hpp), not by sampling; the measure-valued moments integrate over their
// own noise (the Rayleigh and exponential variates by Gauss-Kronrod on [0, inf), the double-sided
// Maxwell as E_Z[h(Z) Z^2]; the coupled d/dsigma as a nested two-dimensional integral). Closed forms exist for the square cost and are
// pinned by tests: with d = mu - k, gradient (2d, 2 sigma); score-function variance w.r.t. mu
// 15 sigma^2 + 14 d^2 + d^4/sigma^2; pathwise 4 sigma^2 (mu) and 8 sigma^2 + 4 d^2 (sigma).
//
// The exp cost with k <= -1/(4 sigma^2) has no finite estimator variance (f^2 grows faster than
// the Gaussian decays): finite_variances() says so and gaussian_toy_exact() refuses it.
//
// As an Objective (Terms::toy, differentiable in z): f(z_r) = sum_j f(z_rj) for every row r, any
// batch B >= 1 (the toy has no data and no parameters of its own).
#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "models/quadrature.hpp"
#include "models/stochastic.hpp"

namespace gradest {

enum class GaussianCost { square, exp, cos };
inline constexpr std::array kGaussianCosts = {GaussianCost::square, GaussianCost::exp, GaussianCost::cos};
std::string_view to_string(GaussianCost cost);
std::optional<GaussianCost> parse_gaussian_cost(std::string_view name);
std::string gaussian_cost_names();  // "square, exp, cos"

struct GaussianTestCost {
  GaussianCost cost = GaussianCost::square;
  double k = 1.0;

  double value(double x) const;
  double derivative(double x) const;
  // Whether every estimator's variance is finite under N(mu, sigma^2).
  bool finite_variances(double sigma) const;
};

enum class GaussianToyEstimator {
  score_function,
  score_function_mean_baseline,
  score_function_optimal_baseline,
  pathwise,
  measure_valued,
  measure_valued_uncoupled
};
inline constexpr std::array kGaussianToyEstimators = {
    GaussianToyEstimator::score_function,         GaussianToyEstimator::score_function_mean_baseline,
    GaussianToyEstimator::score_function_optimal_baseline, GaussianToyEstimator::pathwise,
    GaussianToyEstimator::measure_valued,         GaussianToyEstimator::measure_valued_uncoupled};
// "score_function", "score_function_mean_baseline", "score_function_optimal_baseline", "pathwise",
// "measure_valued", "measure_valued_uncoupled"
std::string_view to_string(GaussianToyEstimator estimator);
// Objective evaluations of one single-sample estimate of both parameters (1, or 4 for the
// measure-valued ones: two points per parameter; gradest's estimator adds its base sample).
int evaluations_per_estimate(GaussianToyEstimator estimator);
// Whether the estimate is a function of one draw x ~ q (single_sample_estimate applies).
bool single_draw(GaussianToyEstimator estimator);

enum class GaussianParameter { mu = 0, sigma = 1 };
inline constexpr std::array kGaussianParameters = {GaussianParameter::mu, GaussianParameter::sigma};
std::string_view to_string(GaussianParameter parameter);  // "mu", "sigma"

struct GaussianToyExact {
  double expected_cost = 0;                 // E_q[f]
  std::array<double, 2> gradient{};         // d/dmu, d/dsigma of E_q[f]
  std::array<double, 2> optimal_baseline{};  // c*_mu, c*_sigma
  // [estimator][parameter]: single-sample variance and fourth central moment
  std::array<std::array<double, 2>, kGaussianToyEstimators.size()> variance{}, fourth_moment{};
  // Largest estimated absolute quadrature error over all the integrals, and whether all converged.
  double quadrature_error = 0;
  bool converged = true;

  // The constant an estimator subtracts for a parameter (0 for score_function and pathwise).
  double baseline(GaussianToyEstimator estimator, GaussianParameter parameter) const;
  double gradient_of(GaussianParameter p) const { return gradient[static_cast<int>(p)]; }
  double variance_of(GaussianToyEstimator e, GaussianParameter p) const {
    return variance[static_cast<int>(e)][static_cast<int>(p)];
  }
  double fourth_moment_of(GaussianToyEstimator e, GaussianParameter p) const {
    return fourth_moment[static_cast<int>(e)][static_cast<int>(p)];
  }
};

// The single-sample estimate at x, given the constant the estimator subtracts (see baseline()), for
// the single-draw estimators.
double single_sample_estimate(GaussianToyEstimator estimator, GaussianParameter parameter, const GaussianTestCost& f,
                              double mu, double sigma, double baseline, double x);

// Throws std::invalid_argument if sigma <= 0 or !f.finite_variances(sigma).
GaussianToyExact gaussian_toy_exact(const GaussianTestCost& f, double mu, double sigma,
                                    const QuadratureOptions& options = {});

class GaussianCostObjective final : public Objective {
 public:
  GaussianCostObjective(GaussianTestCost cost, Index batch = 1) : cost_(cost), batch_(batch) {}
  Terms terms() const override { return Terms::toy; }
  Index batch() const override { return batch_; }
  bool differentiable_in_z() const override { return true; }
  // grad_z = weight_r * f'(z_r).
  void backward(int slot, const Vector& weight, Matrix* grad_z) override;
  // The toy has no parameters: the same as backward.
  void gradient_in_z(int slot, const Vector& weight, Matrix& grad_z) override { backward(slot, weight, &grad_z); }

 protected:
  void do_evaluate(int slot, const Matrix& z, Vector& value) override;

 private:
  GaussianTestCost cost_;
  Index batch_;
  Matrix z_[kSlots];
};

}  // namespace gradest
