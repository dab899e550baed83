#include "models/toy_bernoulli.hpp"

#include <algorithm>
#include <boost/math/quadrature/gauss.hpp>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <cassert>
#include <cmath>
#include <functional>
#include <limits>

#include "models/distributions.hpp"

namespace gradest {

void ToyBernoulli::do_evaluate(int slot, const Matrix& z, Vector& value) {
  assert(slot >= 0 && slot < kSlots && z.rows() % batch_ == 0);
  z_[slot] = z;
  value = (z.array() - Real(t_)).square().rowwise().sum();
}

void ToyBernoulli::backward(int slot, const Vector& weight, Matrix* grad_z) {
  assert(slot >= 0 && slot < kSlots && weight.size() == z_[slot].rows());
  if (!grad_z) return;
  *grad_z = (Real(2) * (z_[slot].array() - Real(t_))).colwise() * weight.array();
}

double ToyBernoulli::expected_value(double theta) const {
  const double p = sigmoid(theta);
  return p * f(1) + (1 - p) * f(0);
}

double ToyBernoulli::exact_gradient(double theta) const {
  const double p = sigmoid(theta);
  return p * (1 - p) * (f(1) - f(0));
}

namespace toy_bernoulli {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kMaxEnumeratedSamples = 20;

// Moments of estimate(b_1..b_S) over b_s ~ Bern(p) iid, by enumerating the 2^S configurations.
ToyMoments enumerate_samples(double p, int samples, const std::function<double(const std::vector<double>&)>& estimate) {
  if (samples > kMaxEnumeratedSamples) return {kNaN, kNaN};
  std::vector<double> b(samples);
  double mean = 0, second = 0;
  for (std::uint32_t mask = 0; mask < (1u << samples); ++mask) {
    double prob = 1;
    for (int s = 0; s < samples; ++s) {
      b[s] = (mask >> s) & 1u;
      prob *= b[s] > 0 ? p : 1 - p;
    }
    const double g = estimate(b);
    mean += prob * g;
    second += prob * g * g;
  }
  return {mean, std::max(0.0, second - mean * mean)};
}

// Moments of the mean of `samples` iid copies of g(u), u ~ U(0,1), g piecewise smooth between the
// breakpoints: 10-point Gauss-Legendre on each piece (exact for the piecewise polynomials of ARM and
// DisARM).
ToyMoments uniform_pieces(const std::function<double(double)>& g, std::vector<double> breaks, int samples) {
  breaks.push_back(0);
  breaks.push_back(1);
  std::sort(breaks.begin(), breaks.end());
  using Rule = boost::math::quadrature::gauss<double, 10>;
  double mean = 0, second = 0;
  for (std::size_t i = 0; i + 1 < breaks.size(); ++i) {
    if (!(breaks[i + 1] > breaks[i])) continue;
    mean += Rule::integrate(g, breaks[i], breaks[i + 1]);
    second += Rule::integrate([&](double u) { return g(u) * g(u); }, breaks[i], breaks[i + 1]);
  }
  return {mean, std::max(0.0, second - mean * mean) / samples};
}

}  // namespace

ToyMoments score_function(const ToyBernoulli& toy, double theta, int samples, double baseline) {
  const double p = sigmoid(theta);
  // iid terms: the S-sample variance is the one-sample variance / S.
  const ToyMoments one =
      enumerate_samples(p, 1, [&](const std::vector<double>& b) { return (toy.f(b[0]) - baseline) * (b[0] - p); });
  return {one.mean, one.variance / samples};
}

ToyMoments leave_one_out(const ToyBernoulli& toy, double theta, int samples) {
  if (samples < 2) return {kNaN, kNaN};
  const double p = sigmoid(theta);
  return enumerate_samples(p, samples, [&](const std::vector<double>& b) {
    double mean = 0, g = 0;
    for (double x : b) mean += toy.f(x) / samples;
    for (double x : b) g += (toy.f(x) - mean) * (x - p);
    return g / (samples - 1);
  });
}

ToyMoments self_baseline(const ToyBernoulli& toy, double theta, int samples) {
  if (samples < 2) return {kNaN, kNaN};
  const double p = sigmoid(theta);
  return enumerate_samples(p, samples, [&](const std::vector<double>& b) {
    double mean = 0, g = 0;
    for (double x : b) mean += toy.f(x) / samples;
    for (double x : b) g += (toy.f(x) - mean) * (x - p);
    return g / samples;
  });
}

ToyMoments arm(const ToyBernoulli& toy, double theta, int pairs) {
  const double p = sigmoid(theta);
  auto g = [&](double u) { return (toy.f(u > 1 - p ? 1.0 : 0.0) - toy.f(u < p ? 1.0 : 0.0)) * (u - 0.5); };
  return uniform_pieces(g, {p, 1 - p}, pairs);
}

ToyMoments disarm(const ToyBernoulli& toy, double theta, int pairs) {
  const double p = sigmoid(theta);
  auto g = [&](double u) {
    const double b = u < p ? 1.0 : 0.0, b_anti = 1 - u < p ? 1.0 : 0.0;
    if (b == b_anti) return 0.0;
    return 0.5 * (toy.f(b) - toy.f(b_anti)) * (b_anti > 0 ? -1.0 : 1.0) * sigmoid(std::abs(theta));
  };
  return uniform_pieces(g, {p, 1 - p}, pairs);
}

ToyMoments gumbel_softmax(const ToyBernoulli& toy, double theta, int samples, double temperature) {
  auto g = [&](double u) {
    const double z = sigmoid((theta + std::log(u) - std::log1p(-u)) / temperature);
    return 2 * (z - toy.t()) * z * (1 - z) / temperature;
  };
  using Rule = boost::math::quadrature::gauss_kronrod<double, 61>;
  const double centre = sigmoid(-theta);  // where the relaxed sample crosses 1/2
  double mean = 0, second = 0;
  for (auto [a, b] : {std::pair{0.0, centre}, std::pair{centre, 1.0}}) {
    mean += Rule::integrate(g, a, b, 15, 1e-13);
    second += Rule::integrate([&](double u) { return g(u) * g(u); }, a, b, 15, 1e-13);
  }
  return {mean, std::max(0.0, second - mean * mean) / samples};
}

ToyMoments straight_through(const ToyBernoulli& toy, double theta, int samples) {
  const double p = sigmoid(theta);
  const ToyMoments one =
      enumerate_samples(p, 1, [&](const std::vector<double>& b) { return 2 * (b[0] - toy.t()) * p * (1 - p); });
  return {one.mean, one.variance / samples};
}

ToyMoments double_cv(const ToyBernoulli& toy, double theta, int samples, bool correction) {
  if (samples < 2) return {kNaN, kNaN};
  const double p = sigmoid(theta);
  return enumerate_samples(p, samples, [&](const std::vector<double>& b) {
    const int S = samples;
    double grad_sum = 0;
    for (double x : b) grad_sum += 2 * (x - toy.t());
    std::vector<double> a(S);
    double a_mean = 0;
    for (int s = 0; s < S; ++s) {
      const double others = (grad_sum - 2 * (b[s] - toy.t())) / (S - 1);
      a[s] = toy.f(b[s]) - others * (b[s] - p);
      a_mean += a[s] / S;
    }
    double g = 0;
    for (int s = 0; s < S; ++s) g += (a[s] - a_mean) * (b[s] - p);
    g /= S - 1;
    if (correction) g += grad_sum / S * p * (1 - p);
    return g;
  });
}

}  // namespace toy_bernoulli
}  // namespace gradest
