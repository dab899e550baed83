#pragma once
// The z-statistics the estimator tests share, for R independent draws of a scalar estimate:
// - mean:      z = (mean - exact mean) / (s / sqrt(R)), s^2 the unbiased sample variance;
// - variance:  z = (s^2 - V) / sqrt((m4 - s^4) / R), m4 the sample fourth central moment: s^2 is
//              asymptotically normal with mean V and variance (mu4 - V^2) / R (delta method);
// and per-coordinate Welford moments of vector draws (CoordinateStats). Thresholds: bonferroni_z
// in tests/support.hpp.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "models/types.hpp"

namespace gradest::testing {

struct DrawMoments {
  double mean = 0, variance = 0, m4 = 0;  // mean, unbiased variance, fourth central moment
  std::int64_t n = 0;
};

inline DrawMoments draw_moments(const std::vector<double>& x) {
  DrawMoments out;
  out.n = std::int64_t(x.size());
  for (double v : x) out.mean += v;
  out.mean /= double(out.n);
  for (double v : x) {
    const double d = (v - out.mean) * (v - out.mean);
    out.variance += d;
    out.m4 += d * d;
  }
  out.variance /= double(out.n - 1);
  out.m4 /= double(out.n);
  return out;
}

inline double mean_z(const DrawMoments& m, double exact_mean) {
  return (m.mean - exact_mean) / std::sqrt(m.variance / double(m.n));
}

inline double variance_z(const DrawMoments& m, double exact_variance) {
  return (m.variance - exact_variance) / std::sqrt(std::max(0.0, m.m4 - m.variance * m.variance) / double(m.n));
}

// Per-coordinate Welford mean and variance in double.
struct CoordinateStats {
  VectorD mean, m2;
  std::int64_t n = 0;
  void add(const VectorD& x) {
    if (n == 0) {
      mean = VectorD::Zero(x.size());
      m2 = VectorD::Zero(x.size());
    }
    ++n;
    const VectorD delta = x - mean;
    mean += delta / double(n);
    m2 += delta.cwiseProduct(x - mean);
  }
  VectorD variance() const { return m2 / double(n - 1); }
  // The largest |mean_i - exact_i| / se_i (every coordinate must vary), and where.
  double max_abs_z(const VectorD& exact, Index* worst) const {
    double out = 0;
    for (Index i = 0; i < exact.size(); ++i) {
      const double se = std::sqrt(m2(i) / double(n - 1) / double(n));
      const double z = std::abs(mean(i) - exact(i)) / se;
      if (!(z <= out)) {
        out = z;
        *worst = i;
      }
    }
    return out;
  }
};

}  // namespace gradest::testing
