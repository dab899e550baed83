// arms (estimators/arms.hpp; Dimitriev & Zhou 2021): its debiasing factor, its Dirichlet-copula samples,
// its identity with DisARM at K = 2, its exact toy moments (models/toy_bernoulli.hpp) and its
// unbiasedness on the 4-latent problem of tests/bernoulli_problem.hpp at K = 2, 3, 4.
//
// Statistical tests, each with a stated family-wise level kAlpha = 1e-3 and Bonferroni over the
// z-tests of its own TEST_CASE (the threshold is printed): per-coordinate mean z-tests
// z = (mean - exact) / (sd / sqrt(R)); variance z-tests z = (s^2 - sigma^2) / sqrt((m4 - s^4) / R);
// frequencies z = (count - R pi) / sqrt(R pi (1 - pi)). Fixed seeds from testing::seed(). Every
// check of a test statistic has a companion that the same statistic rejects a wrong answer.
#include <fmt/format.h>

#include <boost/multiprecision/cpp_bin_float.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "estimators/arms.hpp"
#include "estimators/disarm.hpp"
#include "estimators/monte_carlo.hpp"
#include "models/distributions.hpp"
#include "models/enumerate.hpp"
#include "models/latent_family.hpp"
#include "models/toy_bernoulli.hpp"
#include "run/toy_bernoulli.hpp"
#include "tests/bernoulli_problem.hpp"
#include "tests/draw_statistics.hpp"
#include "tests/support.hpp"

namespace gradest {
namespace {

using testing::CoordinateStats;
using testing::draw_moments;
using testing::DrawMoments;
using testing::mean_z;
using testing::variance_z;

constexpr double kAlpha = 1e-3;             // family-wise level of each TEST_CASE's z-tests
constexpr double kFactorTolerance = 1e-12;  // relative, debiasing factor against 50-digit arithmetic
constexpr double kFloatTolerance = 1e-5;    // relative, two float32 computations of one estimate

std::unique_ptr<Estimator> make_arms(int samples) {
  EstimatorOptions options;
  options.samples = samples;
  std::string error;
  auto estimator = make_estimator("arms", options, LatentKind::bernoulli, &error);
  INFO(error);
  REQUIRE(estimator);
  return estimator;
}

StochasticNode bernoulli_node(const std::vector<double>& logits) {
  StochasticNode node;
  node.family = &latent_family(LatentKind::bernoulli);
  node.logits.resize(1, Index(logits.size()));
  for (std::size_t j = 0; j < logits.size(); ++j) node.logits(0, Index(j)) = Real(logits[j]);
  return node;
}

// The paper's formula, c = p(1-p) / (p - P(b_i = b_k = 1)) with the reference code's joint
// probability (networks.py: bivariate(p) = (2 p^{1/m} - 1)_+^m; for p >= 1/2, 2p - 1 + bivariate(1 - p)),
// evaluated naively in T arithmetic.
template <class T>
T paper_debias_factor(T theta, int samples) {
  using std::exp, std::pow, boost::multiprecision::exp, boost::multiprecision::pow;
  const T p = T(1) / (T(1) + exp(-theta)), m = T(samples - 1);
  auto bivariate = [&](T x) {
    const T term = T(2) * pow(x, T(1) / m) - T(1);
    return term > T(0) ? T(pow(term, m)) : T(0);
  };
  const T joint = p < T(0.5) ? bivariate(p) : T(T(2) * p - T(1) + bivariate(T(1) - p));
  return p * (T(1) - p) / (p - joint);
}

double frequency_z(std::int64_t count, std::int64_t n, double prob) {
  return (double(count) - double(n) * prob) / std::sqrt(double(n) * prob * (1 - prob));
}

}  // namespace

TEST_CASE("arms: the debiasing factor is the paper's, exact at every logit, and agrees with the copula's "
          "pair probabilities",
          "[arms]") {
  using Big = boost::multiprecision::cpp_bin_float_50;
  for (int K : {2, 3, 4, 5, 8, 16})
    for (double theta : {-30.0, -20.0, -10.0, -3.0, -0.7, -1e-3, 0.0, 1e-3, 0.7, 3.0, 10.0, 20.0, 30.0}) {
      const double c = arms::debias_factor(theta, K);
      const double reference = double(paper_debias_factor<Big>(Big(theta), K));
      INFO("K = " << K << ", theta = " << theta << ": " << c << " vs 50 digits " << reference);
      CHECK(std::abs(c - reference) <= kFactorTolerance * reference);
      // The toy derives c independently: P(b_1 = 1, b_2 = 0) from the count distribution by
      // inclusion-exclusion over the simplex (models/toy_bernoulli.cpp).
      const std::vector<double> count = toy_bernoulli::arms_count_distribution(theta, K);
      double one_zero = 0, total = 0, ones = 0;
      for (int n = 0; n <= K; ++n) {
        total += count[n];
        ones += n * count[n];
        if (n > 0 && n < K) one_zero += count[n] * n * (K - n) / (K * (K - 1.0));
      }
      const double p = sigmoid(theta);
      CHECK(total == Approx(1).epsilon(1e-12));
      CHECK(ones == Approx(K * p).epsilon(1e-12));
      CHECK(p * sigmoid(-theta) / one_zero == Approx(c).epsilon(1e-10));
      if (K == 2) CHECK(c == Approx(sigmoid(std::abs(theta))).epsilon(1e-15));  // DisARM's sigmoid(|theta|)
    }
  // Finite and in [sigmoid(|theta|), 2] far beyond any logit a network gives.
  for (int K : {2, 3, 7, 64, 1000})
    for (double theta : {-1e4, -700.0, -40.0, 40.0, 700.0, 1e4}) {
      const double c = arms::debias_factor(theta, K);
      INFO("K = " << K << ", theta = " << theta << ": c = " << c);
      CHECK(std::isfinite(c));
      CHECK(c >= sigmoid(std::abs(theta)));
      CHECK(c <= 2.0);
    }
  // Companion: the same precision check rejects the reference code's double form, whose + 1e-6 in the
  // denominator (networks.py: p (1 - p) / (p - joint + 1e-6)) is a 100% error at theta = -20 (p = 2e-9).
  const double theta = -20;
  const int K = 3;
  const double p = sigmoid(theta), reference = double(paper_debias_factor<Big>(Big(theta), K));
  const double with_epsilon = p * (1 - p) / (p - 0.0 + 1e-6);
  CHECK_FALSE(std::abs(with_epsilon - reference) <= kFactorTolerance * reference);
}

TEST_CASE("arms: copula samples are Bern(p) with the pair probability the factor assumes, at moderate "
          "and extreme logits",
          "[arms]") {
  const std::vector<double> logits = {-5.0, -3.0, -0.4, 0.0, 0.4, 3.0, 5.0};
  const std::int64_t R = 200000;
  const std::vector<int> sample_counts = {2, 3, 4, 6};
  // Tests: per K, logit: marginal of every sample (K) and P(b_0 = b_1 = 1).
  std::size_t tests = 0;
  for (int K : sample_counts) tests += logits.size() * std::size_t(K + 1);
  const double threshold = testing::bonferroni_z(kAlpha, tests);
  using Big = boost::multiprecision::cpp_bin_float_50;
  double max_z = 0, wrong_pair_z = 0;
  for (int K : sample_counts) {
    const StochasticNode node = bernoulli_node(logits);
    Rng rng = Rng::stream(testing::seed(), {stable_hash("arms-copula"), std::uint64_t(K)});
    std::vector<std::vector<std::int64_t>> ones(logits.size(), std::vector<std::int64_t>(K));
    std::vector<std::int64_t> both(logits.size());
    Matrix z;
    for (std::int64_t r = 0; r < R; ++r) {
      arms::draw_copula_samples(node, K, rng, z);
      for (std::size_t j = 0; j < logits.size(); ++j) {
        for (int s = 0; s < K; ++s) ones[j][s] += z(s, Index(j)) > Real(0.5);
        both[j] += z(0, Index(j)) > Real(0.5) && z(1, Index(j)) > Real(0.5);
      }
    }
    for (std::size_t j = 0; j < logits.size(); ++j) {
      const double theta = node.logits(0, Index(j)), p = sigmoid(theta);
      // P(b_i = b_k = 1) = p - p(1-p)/c, in 50 digits from the paper's joint probability.
      const Big big_p = Big(1) / (Big(1) + boost::multiprecision::exp(-Big(theta)));
      const double joint = double(big_p - big_p * (Big(1) - big_p) / paper_debias_factor<Big>(Big(theta), K));
      double local_z = 0;
      for (int s = 0; s < K; ++s) local_z = std::max(local_z, std::abs(frequency_z(ones[j][s], R, p)));
      if (R * joint >= 50) {  // the normal approximation of the count; rarer pairs are left untested
        local_z = std::max(local_z, std::abs(frequency_z(both[j], R, joint)));
        // Companion: iid samples' P = p^2 (where it differs from the copula's).
        if (std::abs(joint - p * p) > 1e-3) wrong_pair_z = std::max(wrong_pair_z, std::abs(frequency_z(both[j], R, p * p)));
      } else if (joint == 0) {
        CHECK(both[j] == 0);  // the copula never gives two ones when p <= 2^{-(K-1)}
      }
      INFO("K = " << K << ", theta = " << theta << ": ones of sample 0 " << ones[j][0] << " (expected " << R * p
                  << "), both " << both[j] << " (expected " << R * joint << "), max |z| " << local_z);
      CHECK(local_z <= threshold);
      max_z = std::max(max_z, local_z);
    }
  }
  INFO(fmt::format("max |z| {:.2f}, threshold {:.2f} (alpha {}, {} tests); iid pair probability rejected at |z| {:.1f}",
                   max_z, threshold, kAlpha, tests, wrong_pair_z));
  CHECK(max_z <= threshold);
  CHECK(wrong_pair_z > threshold);
}

TEST_CASE("arms: extreme logits give finite estimates and no spurious ones", "[arms]") {
  const StochasticNode node = bernoulli_node({-30.0, -25.0, 25.0, 30.0, -20.0, 20.0, 0.0});
  for (int K : {2, 3, 4, 8}) {
    auto estimator = make_arms(K);
    ToyBernoulli toy(0.45);
    Rng rng = Rng::stream(testing::seed(), {stable_hash("arms-extreme"), std::uint64_t(K)});
    NodeGradient grad;
    bool finite = true, saturated_zero = true;
    for (int r = 0; r < 20000; ++r) {
      grad.reset_like(node);
      estimator->estimate(node, toy, rng, grad);
      finite &= all_finite(grad.d_logits);
      // |theta| >= 25: P(some sample differs from the rest) <= K sigmoid(-25) = 1.1e-10 per coordinate, so
      // all K agree, and sum_k (f_k - mean f) (b - p) is 0 up to rounding (f differs between the samples
      // through the other coordinates): |g_j| far below the exact gradient sigmoid'(theta) (1 - 2t).
      for (Index j = 0; j < 4; ++j) {
        const double exact = toy.exact_gradient(node.logits(0, j));
        saturated_zero &= std::abs(grad.d_logits(0, j)) <= 1e-3 * std::abs(exact);
      }
    }
    INFO("K = " << K);
    CHECK(finite);
    CHECK(saturated_zero);
  }
  // The samples' log-space comparison resolves p = sigmoid(-12) = 6.1e-6: frequency z-test over 4e6 samples.
  const StochasticNode tail = bernoulli_node({-12.0});
  Rng rng = Rng::stream(testing::seed(), {stable_hash("arms-tail")});
  Matrix z;
  std::int64_t ones = 0;
  const std::int64_t R = 1000000, K = 4;
  for (std::int64_t r = 0; r < R; ++r) {
    arms::draw_copula_samples(tail, int(K), rng, z);
    ones += std::int64_t(z.sum());
  }
  const double p = sigmoid(double(tail.logits(0, 0))), z_ones = frequency_z(ones, R * K, p);
  const double threshold = testing::bonferroni_z(kAlpha, 1);
  INFO(fmt::format("{} ones in {} samples, expected {:.1f}: z = {:.2f} (threshold {:.2f})", ones, R * K, p * R * K,
                   z_ones, threshold));
  CHECK(std::abs(z_ones) <= threshold);
}

TEST_CASE("arms: K = 2 is DisARM: the same estimate from the same pair, the same pair law, the same toy moments",
          "[arms]") {
  // (1) Same noise: DisARM's pair (b, b~) from draw_antithetic_pairs is, row-major, a K = 2 sample-major
  // block; arms's formula on it must give DisARM's estimate, coordinate by coordinate.
  const std::uint64_t seed = testing::seed();
  testing::BernoulliProblem problem(4, 3, seed);
  StochasticNode node = problem.node(seed);
  node.logits(0, 0) = Real(-25);  // extreme logits in the mix
  node.logits(1, 1) = Real(25);
  EstimatorOptions options;
  options.samples = 1;
  Disarm disarm(options);
  double max_relative = 0;
  for (int r = 0; r < 2000; ++r) {
    const Rng rng = Rng::stream(seed, {stable_hash("arms-vs-disarm"), std::uint64_t(r)});
    Rng disarm_rng = rng, arms_rng = rng;
    NodeGradient disarm_grad, arms_grad;
    disarm_grad.reset_like(node);
    arms_grad.reset_like(node);
    disarm.estimate(node, problem, disarm_rng, disarm_grad);
    Matrix u, z;
    Vector value;
    draw_antithetic_pairs(node, 1, arms_rng, u, z);
    problem.evaluate(0, z, value);
    arms::accumulate(node, 2, z, value, arms_grad);
    const double scale = std::max(1e-3, double(disarm_grad.d_logits.cwiseAbs().maxCoeff()));
    max_relative = std::max(max_relative, double((disarm_grad.d_logits - arms_grad.d_logits).cwiseAbs().maxCoeff()) / scale);
  }
  INFO("max |arms - disarm| / max |disarm| over 2000 pairs: " << max_relative);
  CHECK(max_relative <= kFloatTolerance);

  // (2) Same pair law: the K = 2 copula gives U_2 = 1 - U_1, so a pair is never (1, 1) when p < 1/2 and
  // never (0, 0) when p >= 1/2; with P(b = 1) = p (tested above) that fixes the pair's law to DisARM's.
  // Checked on every draw; the companion is K = 3, whose first two samples can be (1, 1) at p = 0.4.
  const StochasticNode pair_node = bernoulli_node({-3.0, -0.4, -1e-3, 0.0, 0.4, 3.0});
  Rng rng = Rng::stream(seed, {stable_hash("arms-pair-law")});
  Matrix z;
  bool antithetic = true, three_antithetic = true;
  for (int r = 0; r < 20000; ++r) {
    arms::draw_copula_samples(pair_node, 2, rng, z);
    for (Index j = 0; j < pair_node.dim(); ++j) {
      const bool low = pair_node.logits(0, j) < 0;
      antithetic &= low ? !(z(0, j) > 0.5 && z(1, j) > 0.5) : !(z(0, j) < 0.5 && z(1, j) < 0.5);
    }
    arms::draw_copula_samples(pair_node, 3, rng, z);
    three_antithetic &= !(z(0, 1) > 0.5 && z(1, 1) > 0.5);
  }
  CHECK(antithetic);
  CHECK_FALSE(three_antithetic);

  // (3) Exact toy moments: arms K = 2 equals disarm with one pair.
  for (double t : {0.45, 0.499, 0.1}) {
    ToyBernoulli toy(t);
    for (double theta : {-30.0, -4.0, -0.5, 0.0, 0.5, 4.0, 30.0}) {
      const ToyMoments a = toy_bernoulli::arms(toy, theta, 2), d = toy_bernoulli::disarm(toy, theta, 1);
      INFO("t = " << t << ", theta = " << theta);
      // margin: disarm's quadrature pieces are 1e-13 wide at |theta| = 30, and at theta = 0 both variances
      // are 0 up to the rounding of second - mean^2.
      CHECK(a.mean == Approx(d.mean).epsilon(1e-10).margin(1e-15));
      CHECK(a.variance == Approx(d.variance).epsilon(1e-10).margin(1e-15));
    }
  }
}

TEST_CASE("arms: the toy's empirical mean and variance match the exact moments at K = 2, 3, 4; without the "
          "debiasing factor, or against LOO REINFORCE's variance, it is rejected",
          "[arms]") {
  const double theta = 0.5;
  const std::int64_t R = 20000;
  const std::vector<double> ts = {0.45, 0.499};
  const std::vector<int> sample_counts = {2, 3, 4};
  // Tests: mean and variance per (t, K).
  const double threshold = testing::bonferroni_z(kAlpha, 2 * ts.size() * sample_counts.size());
  double max_z = 0, min_undebiased_z = INFINITY, min_loo_z = INFINITY;
  for (double t : ts)
    for (int K : sample_counts) {
      ToyBernoulli toy(t);
      auto estimator = make_arms(K);
      Rng rng = Rng::stream(testing::seed(), {stable_hash("arms-toy"), std::uint64_t(K), std::uint64_t(t * 1e6)});
      const std::vector<double> x = toy_bernoulli_draws(*estimator, toy, theta, R, rng);
      const auto exact = toy_bernoulli_exact_moments(*estimator, toy, theta);
      REQUIRE(exact);
      CHECK(exact->mean == Approx(toy.exact_gradient(theta)).epsilon(1e-12));
      const DrawMoments m = draw_moments(x);
      const double zm = mean_z(m, exact->mean), zv = variance_z(m, exact->variance);
      INFO(fmt::format("t = {}, K = {}: mean {:.6e} (exact {:.6e}, z = {:.2f}); variance {:.6e} (exact {:.6e}, "
                       "z = {:.2f}); threshold {:.2f}",
                       t, K, m.mean, exact->mean, zm, m.variance, exact->variance, zv, threshold));
      CHECK(std::abs(zm) <= threshold);
      CHECK(std::abs(zv) <= threshold);
      max_z = std::max({max_z, std::abs(zm), std::abs(zv)});
      // Companions: the same draws without the factor c (a constant on the 1-d toy) against the exact
      // gradient; and against leave-one-out REINFORCE's exact variance at the same K.
      std::vector<double> undebiased = x;
      for (double& v : undebiased) v /= arms::debias_factor(double(Real(theta)), K);
      min_undebiased_z = std::min(min_undebiased_z, std::abs(mean_z(draw_moments(undebiased), exact->mean)));
      min_loo_z = std::min(min_loo_z, std::abs(variance_z(m, toy_bernoulli::leave_one_out(toy, theta, K).variance)));
    }
  INFO(fmt::format("max |z| {:.2f}; without the factor min |z| {:.1f}; against LOO's variance min |z| {:.1f}; "
                   "threshold {:.2f}",
                   max_z, min_undebiased_z, min_loo_z, threshold));
  CHECK(min_undebiased_z > threshold);
  CHECK(min_loo_z > threshold);
}

TEST_CASE("arms is unbiased on the 4-latent problem at K = 2, 3, 4: logits and f's parameters", "[arms]") {
  const std::vector<int> sample_counts = {2, 3, 4};
  const std::int64_t R = 20000;
  const std::uint64_t seed = testing::seed();
  testing::BernoulliProblem problem(4, 3, seed);
  const StochasticNode node = problem.node(seed);
  // Exact gradient by enumeration (logits, then f's parameters).
  NodeGradient exact_grad;
  exact_grad.reset_like(node);
  problem.param_grad().setZero();
  exact_enumerated_expectation(node, problem, &exact_grad, true);
  const Index n_logits = exact_grad.d_logits.size(), n = n_logits + problem.param_grad().size();
  VectorD exact(n);
  for (Index i = 0; i < n_logits; ++i) exact(i) = exact_grad.d_logits.data()[i];
  for (Index i = 0; i < problem.param_grad().size(); ++i) exact(n_logits + i) = problem.param_grad()(i);
  const double threshold = testing::bonferroni_z(kAlpha, sample_counts.size() * std::size_t(n));
  for (int K : sample_counts) {
    auto estimator = make_arms(K);
    Rng rng = Rng::stream(seed, {stable_hash("arms-problem"), std::uint64_t(K)});
    VectorD sum = VectorD::Zero(n), sum_sq = VectorD::Zero(n), sum_undebiased = VectorD::Zero(n_logits),
            sum_sq_undebiased = VectorD::Zero(n_logits);
    NodeGradient grad;
    VectorD x(n);
    for (std::int64_t r = 0; r < R; ++r) {
      grad.reset_like(node);
      problem.param_grad().setZero();
      estimator->estimate(node, problem, rng, grad);
      for (Index i = 0; i < n_logits; ++i) x(i) = grad.d_logits.data()[i];
      for (Index i = 0; i < problem.param_grad().size(); ++i) x(n_logits + i) = problem.param_grad()(i);
      sum += x;
      sum_sq += x.cwiseProduct(x);
      for (Index i = 0; i < n_logits; ++i) {  // companion: the factor c divided out
        const double v = x(i) / arms::debias_factor(node.logits.data()[i], K);
        sum_undebiased(i) += v;
        sum_sq_undebiased(i) += v * v;
      }
    }
    double worst = 0, worst_undebiased = 0;
    for (Index i = 0; i < n; ++i) {
      const double mean = sum(i) / R, var = (sum_sq(i) - R * mean * mean) / (R - 1);
      worst = std::max(worst, std::abs(mean - exact(i)) / std::sqrt(var / R));
      if (i < n_logits) {
        const double mu = sum_undebiased(i) / R, v = (sum_sq_undebiased(i) - R * mu * mu) / (R - 1);
        worst_undebiased = std::max(worst_undebiased, std::abs(mu - exact(i)) / std::sqrt(v / R));
      }
    }
    INFO(fmt::format("K = {}: max |z| {:.2f} over {} coordinates; without the factor {:.1f}; threshold {:.2f}", K,
                     worst, n, worst_undebiased, threshold));
    CHECK(worst <= threshold);
    // K = 2 is rejected without c = sigmoid(|theta|) too, which is far from 1 at these logits.
    CHECK(worst_undebiased > threshold);
  }
}

}  // namespace gradest
