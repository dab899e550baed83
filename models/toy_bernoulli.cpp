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

bool ToyBernoulli::hessian_vector_in_z(int slot, const Vector& weight, const Matrix& v, Matrix& hv) {
  assert(slot >= 0 && slot < kSlots && weight.size() == v.rows());
  (void)slot;
  hv = (Real(2) * v.array()).colwise() * weight.array();
  return true;
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

std::vector<double> arms_count_distribution(double theta, int samples) {
  const int K = samples;
  if (K < 2 || K > kMaxEnumeratedSamples) return std::vector<double>(std::max(K, 0) + 1, kNaN);
  // A_k = [U_k < q], q = min(p, 1-p): the ones when p < 1/2, the zeros otherwise. U_k < q iff
  // D_k > a = 1 - q^{1/m}; on the uniform simplex P(D_1 > a, ..., D_i > a) = (1 - i a)_+^m
  // = (i w - (i - 1))_+^m with w = q^{1/m}.
  const double m = K - 1, log_q = log_sigmoid(-std::abs(theta)), w = std::exp(log_q / m);
  auto all_above = [&](int i) -> long double {
    if (i == 0) return 1;
    if (i == 1) return std::exp(log_q);
    const double base = i * w - (i - 1);
    return base > 0 ? std::pow(static_cast<long double>(base), m) : 0;
  };
  auto binomial = [](int n, int r) {
    long double c = 1;
    for (int i = 1; i <= r; ++i) c = c * (n - r + i) / i;
    return c;
  };
  std::vector<double> count(K + 1);
  for (int n = 0; n <= K; ++n) {
    long double exactly = 0;  // P(A_1..A_n, not A_{n+1}..A_K), inclusion-exclusion over the rest
    for (int j = 0; j <= K - n; ++j) exactly += (j % 2 ? -1 : 1) * binomial(K - n, j) * all_above(n + j);
    const double prob = double(std::max<long double>(0, binomial(K, n) * exactly));
    count[theta < 0 ? n : K - n] = prob;
  }
  return count;
}

ToyMoments arms(const ToyBernoulli& toy, double theta, int samples) {
  const int K = samples;
  if (K < 2 || K > kMaxEnumeratedSamples) return {kNaN, kNaN};
  const std::vector<double> count = arms_count_distribution(theta, K);
  const double p = sigmoid(theta), one_minus_p = sigmoid(-theta);
  // P(b_1 = 1, b_2 = 0) = p - P(b_1 = b_2 = 1): a sum of positive terms, no cancellation.
  double one_zero = 0;
  for (int n = 1; n < K; ++n) one_zero += count[n] * n * (K - n) / (K * (K - 1.0));
  const double debias = p * one_minus_p / one_zero;
  double mean = 0, second = 0;
  for (int n = 1; n < K; ++n) {
    const double g = debias * n * (K - n) / (K * (K - 1.0)) * (toy.f(1) - toy.f(0));
    mean += count[n] * g;
    second += count[n] * g * g;
  }
  return {mean, std::max(0.0, second - mean * mean)};
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

ToyMoments rebar(const ToyBernoulli& toy, double theta, int samples, double temperature, double scale) {
  // g = A(b, u) + B(b, v): given b, the hard sample's noise u and the conditional noise v are
  // independent, so E[g^2 | b] = E[A^2|b] + 2 E[A|b] E[B|b] + E[B^2|b], each a 1-d integral over
  // the uniform's piece that gives b (u in (1-p, 1) for b = 1, (0, 1-p) for b = 0; v in (0, 1)).
  const double p = sigmoid(theta), lambda = temperature, eta = scale, t = toy.t();
  auto relaxed_slope = [&](double s) { return 2 * (s - t) * s * (1 - s) / lambda; };  // d f(sigma(z/lambda))/dz
  using Rule = boost::math::quadrature::gauss_kronrod<double, 61>;
  auto integrate = [](auto&& h, double a, double b) { return b > a ? Rule::integrate(h, a, b, 15, 1e-13) : 0.0; };
  double mean = 0, second = 0;
  for (int b = 0; b <= 1; ++b) {
    const double prob = b ? p : 1 - p, score = b - p;
    if (!(prob > 0)) continue;
    const double lo = b ? 1 - p : 0.0, hi = b ? 1.0 : 1 - p;
    auto a = [&](double u) {
      const double s = sigmoid((theta + std::log(u) - std::log1p(-u)) / lambda);
      return toy.f(b) * score + eta * relaxed_slope(s);
    };
    auto c = [&](double v) {
      const double z = b ? std::log1p(std::exp(theta + std::log(v))) - std::log1p(-v)
                         : std::log(v) - std::log1p(std::exp(-theta + std::log1p(-v)));
      const double dz = b ? sigmoid(theta + std::log(v)) : sigmoid(-theta + std::log1p(-v));
      const double s = sigmoid(z / lambda);
      return -eta * (toy.f(s) * score + relaxed_slope(s) * dz);
    };
    const double ea = integrate(a, lo, hi) / prob, ea2 = integrate([&](double u) { return a(u) * a(u); }, lo, hi) / prob;
    const double ec = integrate(c, 0.0, 1.0), ec2 = integrate([&](double v) { return c(v) * c(v); }, 0.0, 1.0);
    mean += prob * (ea + ec);
    second += prob * (ea2 + 2 * ea * ec + ec2);
  }
  return {mean, std::max(0.0, second - mean * mean) / samples};
}

ToyMoments relax(const ToyBernoulli& toy, double theta, int samples, double temperature, double scale,
                 const ToySurrogate& surrogate) {
  // As rebar: g = A(b, u) + C(b, v) with u and v independent given b.
  const double p = sigmoid(theta), lambda = temperature, eta = scale, t = toy.t();
  auto relaxed_slope = [&](double s) { return 2 * (s - t) * s * (1 - s) / lambda; };
  using Rule = boost::math::quadrature::gauss_kronrod<double, 61>;
  auto integrate = [](auto&& h, double a, double b) { return b > a ? Rule::integrate(h, a, b, 15, 1e-13) : 0.0; };
  // C as a function of v and 1 - v (each exact near its own end). A surrogate growing like z~
  // (r(z) = a + b z) has logarithmic singularities at v = 0 and 1, which an adaptive rule resolves only
  // slowly: each half of (0, 1) is integrated in y = -log(distance to its end), where the integrand
  // h(e^-y) e^-y is smooth and decays like y^2 e^-y (cut at y = 60: a remainder below 1e-22).
  auto half = [&](auto&& h) {  // int_0^{1/2} h(w) dw
    constexpr double kEdges[] = {0.69314718055994531, 3, 8, 20, 60};
    auto g = [&](double y) {
      const double w = std::exp(-y);
      return h(w) * w;
    };
    double sum = 0;
    for (std::size_t i = 0; i + 1 < std::size(kEdges); ++i) sum += integrate(g, kEdges[i], kEdges[i + 1]);
    return sum;
  };
  double mean = 0, second = 0;
  for (int b = 0; b <= 1; ++b) {
    const double prob = b ? p : 1 - p, score = b - p;
    if (!(prob > 0)) continue;
    const double lo = b ? 1 - p : 0.0, hi = b ? 1.0 : 1 - p;
    auto a = [&](double u) {
      const double z = theta + std::log(u) - std::log1p(-u);
      return toy.f(b) * score + eta * relaxed_slope(sigmoid(z / lambda)) + surrogate.slope(z);
    };
    auto c = [&](double v, double one_minus_v) {
      const double z = b ? softplus(theta + std::log(v)) - std::log(one_minus_v)
                         : std::log(v) - softplus(-theta + std::log(one_minus_v));
      const double dz = b ? sigmoid(theta + std::log(v)) : sigmoid(-theta + std::log(one_minus_v));
      const double s = sigmoid(z / lambda);
      return -eta * (toy.f(s) * score + relaxed_slope(s) * dz) - surrogate.value(z) * score - surrogate.slope(z) * dz;
    };
    const double ea = integrate(a, lo, hi) / prob, ea2 = integrate([&](double u) { return a(u) * a(u); }, lo, hi) / prob;
    const double ec = half([&](double v) { return c(v, 1 - v); }) + half([&](double w) { return c(1 - w, w); });
    const double ec2 = half([&](double v) { return c(v, 1 - v) * c(v, 1 - v); }) +
                       half([&](double w) { return c(1 - w, w) * c(1 - w, w); });
    mean += prob * (ea + ec);
    second += prob * (ea2 + 2 * ea * ec + ec2);
  }
  return {mean, std::max(0.0, second - mean * mean) / samples};
}

ToyMoments straight_through(const ToyBernoulli& toy, double theta, int samples) {
  const double p = sigmoid(theta);
  const ToyMoments one =
      enumerate_samples(p, 1, [&](const std::vector<double>& b) { return 2 * (b[0] - toy.t()) * p * (1 - p); });
  return {one.mean, one.variance / samples};
}

ToyMoments double_cv(const ToyBernoulli& toy, double theta, int samples, double alpha, bool correction) {
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
      a[s] = toy.f(b[s]) - alpha * others * (b[s] - p);
      a_mean += a[s] / S;
    }
    double g = 0;
    for (int s = 0; s < S; ++s) g += (a[s] - a_mean) * (b[s] - p);
    g /= S - 1;
    if (correction) g += alpha * grad_sum / S * p * (1 - p);
    return g;
  });
}

}  // namespace toy_bernoulli
}  // namespace gradest
