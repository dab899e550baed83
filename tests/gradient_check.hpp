#pragma once
// Central finite-difference gradient checker, for hand-written backward passes (use it in the f64
// test build, where Real is double).
//
//   numeric_i = (f(x + h_i e_i) - f(x - h_i e_i)) / (2 h_i),   h_i = step * max(1, |x_i|)
//
// Coordinate i passes when
//   |analytic_i - numeric_i| <= tolerance * max(|analytic_i|, |numeric_i|) + noise_i,
//   noise_i = kRoundingFactor * eps * max(1, |f(x)|) / h_i
// where noise_i bounds the rounding error of the difference quotient itself (eps = double's
// machine epsilon; the factor covers the few roundings in f), so tiny derivatives of a large
// objective are not judged by a relative test they cannot meet. With step 1e-5 the truncation
// error is O(step^2 f''') ~ 1e-10, far below the default relative tolerance
// (tolerance::kFiniteDifference = 1e-6).
//
// Usage:
//   auto result = check_gradient(params, [&] { return objective_value(); }, analytic);
//   INFO(result.describe()); CHECK(result.passed);
// The function must read the CURRENT contents of the checked vector or matrix (it is perturbed in
// place and restored). tests/f64_models.cpp shows the checker failing on wrong gradients.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "models/types.hpp"
#include "tests/support.hpp"

namespace gradest::testing {

struct GradientCheckOptions {
  double step = 1e-5;
  double tolerance = tolerance::kFiniteDifference;
  double rounding_factor = 100.0;
};

struct GradientCheckResult {
  bool passed = true;
  Index checked = 0;
  Index failures = 0;
  Index worst_index = -1;      // the coordinate with the largest error / allowed error
  double worst_ratio = 0;      // its |analytic - numeric| / allowed  (passes when <= 1)
  double worst_analytic = 0, worst_numeric = 0;
  std::string describe() const {
    return fmt::format("{} of {} coordinates failed; worst: index {} analytic {:.12g} numeric {:.12g} (error/allowed {:.3g})",
                       failures, checked, worst_index, worst_analytic, worst_numeric, worst_ratio);
  }
};

// Checks analytic[i] = d f / d x[i] for every i in [0, n).
inline GradientCheckResult check_gradient(Real* x, Index n, const std::function<double()>& f, const Real* analytic,
                                          const GradientCheckOptions& options = {}) {
  static_assert(std::is_same_v<Real, double>, "finite-difference checks need the f64 test build");
  GradientCheckResult result;
  const double f0 = f();
  const double eps = std::numeric_limits<double>::epsilon();
  for (Index i = 0; i < n; ++i) {
    const Real saved = x[i];
    const double h = options.step * std::max(1.0, std::abs(double(saved)));
    x[i] = saved + h;
    const double plus = f();
    x[i] = saved - h;
    const double minus = f();
    x[i] = saved;
    const double numeric = (plus - minus) / (2 * h);
    const double a = analytic[i];
    const double allowed =
        options.tolerance * std::max(std::abs(a), std::abs(numeric)) + options.rounding_factor * eps * std::max(1.0, std::abs(f0)) / h;
    const double ratio = std::abs(a - numeric) / allowed;
    ++result.checked;
    if (!(ratio <= 1)) {
      ++result.failures;
      result.passed = false;
    }
    if (!(ratio <= result.worst_ratio) || result.worst_index < 0) {
      result.worst_ratio = ratio;
      result.worst_index = i;
      result.worst_analytic = a;
      result.worst_numeric = numeric;
    }
  }
  return result;
}

inline GradientCheckResult check_gradient(Vector& x, const std::function<double()>& f, const Vector& analytic,
                                          const GradientCheckOptions& options = {}) {
  return check_gradient(x.data(), x.size(), f, analytic.data(), options);
}

inline GradientCheckResult check_gradient(Matrix& x, const std::function<double()>& f, const Matrix& analytic,
                                          const GradientCheckOptions& options = {}) {
  return check_gradient(x.data(), x.size(), f, analytic.data(), options);
}

}  // namespace gradest::testing
