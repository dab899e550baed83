#include "models/toy_categorical.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace gradest {

ToyCategorical::ToyCategorical(int categories, double t, Index batch) : v_(categories), t_(t), batch_(batch) {
  if (categories < 2) throw std::invalid_argument("ToyCategorical needs at least 2 categories");
  for (int c = 0; c < categories; ++c) v_(c) = double(c) / double(categories - 1);
}

void ToyCategorical::do_evaluate(int slot, const Matrix& z, Vector& value) {
  const Index C = v_.size();
  assert(slot >= 0 && slot < kSlots && z.rows() % batch_ == 0 && z.cols() % C == 0);
  z_[slot] = z;
  const Vector v = v_.cast<Real>();
  value = Vector::Zero(z.rows());
  for (Index j = 0; j < z.cols() / C; ++j)
    value.array() += ((z.middleCols(j * C, C) * v).array() - Real(t_)).square();
}

void ToyCategorical::backward(int slot, const Vector& weight, Matrix* grad_z) {
  assert(slot >= 0 && slot < kSlots && weight.size() == z_[slot].rows());
  if (!grad_z) return;
  const Index C = v_.size();
  const Vector v = v_.cast<Real>();
  grad_z->resize(z_[slot].rows(), z_[slot].cols());
  for (Index j = 0; j < z_[slot].cols() / C; ++j) {
    const Vector scale = (Real(2) * ((z_[slot].middleCols(j * C, C) * v).array() - Real(t_)) * weight.array()).matrix();
    grad_z->middleCols(j * C, C) = scale * v.transpose();
  }
}

VectorD ToyCategorical::values() const {
  VectorD out(v_.size());
  for (int c = 0; c < categories(); ++c) out(c) = f(c);
  return out;
}

double ToyCategorical::expected_value(const VectorD& theta) const {
  return toy_categorical::probabilities(theta).dot(values());
}

VectorD ToyCategorical::exact_gradient(const VectorD& theta) const {
  const VectorD p = toy_categorical::probabilities(theta), fv = values();
  return (p.array() * (fv.array() - p.dot(fv))).matrix();
}

namespace toy_categorical {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

ToyMomentsC not_computed(int categories) {
  return {VectorD::Constant(categories, kNaN), VectorD::Constant(categories, kNaN)};
}

// Accumulates probability-weighted first and second moments of estimates.
struct MomentSum {
  VectorD first, second;
  explicit MomentSum(int categories) : first(VectorD::Zero(categories)), second(VectorD::Zero(categories)) {}
  void add(double prob, const VectorD& g) {
    first += prob * g;
    second += prob * g.cwiseAbs2();
  }
  ToyMomentsC moments(int samples_divisor = 1) const {
    return {first, ((second - first.cwiseAbs2()).cwiseMax(0.0) / double(samples_divisor)).eval()};
  }
};

// Single-sample moments of g(c), c ~ p.
ToyMomentsC over_values(const VectorD& p, const std::function<VectorD(int)>& g, int samples) {
  MomentSum sum(int(p.size()));
  for (int c = 0; c < p.size(); ++c) sum.add(p(c), g(c));
  return sum.moments(samples);
}

// Moments of g(n) over the counts n of S iid draws from p (multinomial), by enumerating multisets.
ToyMomentsC over_multisets(const VectorD& p, int samples, const std::function<VectorD(const std::vector<int>&)>& g) {
  const int C = int(p.size());
  if (multiset_count(C, samples) * (samples + 1.0) * C > kMaxEnumerationWork) return not_computed(C);
  MomentSum sum(C);
  std::vector<int> n(C, 0);
  const double log_s_factorial = std::lgamma(double(samples) + 1);
  std::function<void(int, int)> recurse = [&](int c, int left) {
    if (c == C - 1) {
      n[c] = left;
      double log_prob = log_s_factorial;
      for (int i = 0; i < C; ++i) {
        if (n[i] == 0) continue;
        if (p(i) <= 0) return;  // probability 0
        log_prob += n[i] * std::log(p(i)) - std::lgamma(double(n[i]) + 1);
      }
      sum.add(std::exp(log_prob), g(n));
      return;
    }
    for (int k = 0; k <= left; ++k) {
      n[c] = k;
      recurse(c + 1, left - k);
    }
  };
  recurse(0, samples);
  return sum.moments();
}

// (f(c) - baseline) summed against the scores e_c - p with counts n, divided by `divisor`, where the
// baseline is the mean of f over the S samples.
VectorD centred_score_sum(const ToyCategorical& toy, const VectorD& p, const std::vector<int>& n, int samples,
                          double divisor) {
  double mean = 0;
  for (int c = 0; c < toy.categories(); ++c) mean += n[c] * toy.f(c) / samples;
  VectorD g = VectorD::Zero(p.size());
  for (int c = 0; c < toy.categories(); ++c) {
    if (n[c] == 0) continue;
    VectorD score = -p;
    score(c) += 1;
    g += n[c] * (toy.f(c) - mean) * score;
  }
  return g / divisor;
}

// p^{D'}(T): the probability of drawing the set T (in any order) without replacement from p restricted
// to a domain D' that holds T and values of total mass `outside` besides, renormalised: the sum over
// T's orderings of prod_l p_{t_l} / (outside + p(T minus t_1..t_{l-1})). Every mass is a sum of
// positive terms (never 1 - p(drawn), which cancels to 0 when one value holds nearly all the mass).
double set_probability(const VectorD& p, std::vector<int> set, double outside) {
  std::sort(set.begin(), set.end());
  double total = 0;
  do {
    double prob = 1;
    for (std::size_t l = 0; l < set.size(); ++l) {
      double rest = outside;
      for (std::size_t m = l; m < set.size(); ++m) rest += p(set[m]);
      prob *= p(set[l]) / rest;
    }
    total += prob;
  } while (std::next_permutation(set.begin(), set.end()));
  return total;
}

std::vector<int> without(const std::vector<int>& set, std::initializer_list<int> out) {
  std::vector<int> rest;
  for (int x : set)
    if (std::find(out.begin(), out.end(), x) == out.end()) rest.push_back(x);
  return rest;
}

}  // namespace

VectorD probabilities(const VectorD& theta) {
  const VectorD e = (theta.array() - theta.maxCoeff()).exp().matrix();
  return e / e.sum();
}

double multiset_count(int categories, int samples) {
  return std::round(std::exp(std::lgamma(double(samples + categories)) - std::lgamma(double(samples) + 1) -
                             std::lgamma(double(categories))));
}

ToyMomentsC score_function(const ToyCategorical& toy, const VectorD& theta, int samples, double baseline) {
  const VectorD p = probabilities(theta);
  return over_values(
      p,
      [&](int c) {
        VectorD score = -p;
        score(c) += 1;
        return VectorD((toy.f(c) - baseline) * score);
      },
      samples);
}

ToyMomentsC leave_one_out(const ToyCategorical& toy, const VectorD& theta, int samples) {
  if (samples < 2) return not_computed(toy.categories());
  const VectorD p = probabilities(theta);
  return over_multisets(p, samples,
                        [&](const std::vector<int>& n) { return centred_score_sum(toy, p, n, samples, samples - 1); });
}

ToyMomentsC self_baseline(const ToyCategorical& toy, const VectorD& theta, int samples) {
  if (samples < 2) return not_computed(toy.categories());
  const VectorD p = probabilities(theta);
  return over_multisets(p, samples,
                        [&](const std::vector<int>& n) { return centred_score_sum(toy, p, n, samples, samples); });
}

ToyMomentsC indecater(const ToyCategorical& toy, const VectorD& theta) {
  const VectorD p = probabilities(theta);
  VectorD g = VectorD::Zero(p.size());
  for (int c = 0; c < toy.categories(); ++c) {
    VectorD score = -p;
    score(c) += 1;
    g += toy.f(c) * p(c) * score;
  }
  return {g, VectorD::Zero(p.size())};
}

ToyMomentsC straight_through(const ToyCategorical& toy, const VectorD& theta, int samples) {
  const VectorD p = probabilities(theta);
  VectorD v(toy.categories());
  for (int c = 0; c < toy.categories(); ++c) v(c) = double(c) / double(toy.categories() - 1);
  const VectorD jv = (p.array() * v.array()).matrix() - p * p.dot(v);  // J_softmax^T v (J symmetric)
  return over_values(p, [&](int c) { return VectorD(2 * (v(c) - toy.t()) * jv); }, samples);
}

ToyMomentsC unordered_set(const ToyCategorical& toy, const VectorD& theta, int samples) {
  const int C = toy.categories(), S = samples;
  if (S < 2 || S > C) return not_computed(C);
  const double sets = std::round(std::exp(std::lgamma(C + 1.0) - std::lgamma(S + 1.0) - std::lgamma(C - S + 1.0)));
  if (sets * (std::exp(std::lgamma(S + 1.0)) * S * S + double(S) * C) > kMaxEnumerationWork) return not_computed(C);
  const VectorD p = probabilities(theta);
  MomentSum sum(C);
  std::vector<bool> chosen(C, false);
  std::fill(chosen.begin(), chosen.begin() + S, true);
  do {  // every set of S values; every domain below is D minus some of the set, so `outside` is p(D \ set)
    std::vector<int> set;
    double outside = 0;
    for (int c = 0; c < C; ++c)
      if (chosen[c]) set.push_back(c);
      else outside += p(c);
    const double p_set = set_probability(p, set, outside);
    VectorD g = VectorD::Zero(C);
    for (int si : set) {
      const double p_rest_i = set_probability(p, without(set, {si}), outside);  // p^{D\s_i}(S \ s_i)
      const double weight = p(si) * p_rest_i / p_set;                           // p_i R_i
      double baseline = p(si) * toy.f(si);
      for (int sj : set) {
        if (sj == si) continue;
        const double r_ij = set_probability(p, without(set, {si, sj}), outside) / p_rest_i;  // R^{D\s_i}_j
        baseline += p(sj) * r_ij * toy.f(sj);
      }
      VectorD score = -p;
      score(si) += 1;
      g += weight * (toy.f(si) - baseline) * score;
    }
    sum.add(p_set, g);
  } while (std::prev_permutation(chosen.begin(), chosen.end()));
  return sum.moments();
}

}  // namespace toy_categorical
}  // namespace gradest
