// The categorical toy (models/toy_categorical.hpp, run/toy_categorical.hpp, `gradest toy-categorical`):
// q = Cat(softmax(theta)) over C values, f(c) = (c/(C-1) - t)^2.
//
// - The exact gradient against central finite differences of E_q[f] (double), and the check shown to
//   fail on a gradient without its centring term.
// - The exact moments: the multiset sums against brute-force enumeration of all C^S ordered samples;
//   IndeCateR and the unordered set estimator with S = C are the exact gradient (variance 0); the
//   unordered set estimator's exact mean (a sum over all sets, from the definitions) is the exact
//   gradient for every S (its unbiasedness, by enumeration).
// - Empirical against exact (fixed seeds, R = 20000 estimates, C = 5, a non-uniform theta, two t):
//   per coordinate, z = (mean - exact mean) / (sd / sqrt R) and z = (s^2 - exact variance) /
//   sqrt((m4 - s^4) / R) (m4 the sample fourth central moment), Bonferroni over every z-test of the
//   test case at family-wise level kAlpha = 1e-3. Power: the biased estimators' means are rejected
//   against the true gradient by the same test, and leave-one-out's draws against the self-baseline's
//   exact variance (the 1/S instead of 1/(S-1) divisor) are rejected.
// - The command's HDF5 output.
#include <fmt/format.h>

#include <H5Cpp.h>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <unistd.h>

#include "estimators/estimator.hpp"
#include "estimators/reinforce_ma.hpp"
#include "models/toy_categorical.hpp"
#include "run/toy_categorical.hpp"
#include "tests/support.hpp"

namespace gradest {
namespace {

namespace tc = toy_categorical;
constexpr double kAlpha = 1e-3;
constexpr std::int64_t kDraws = 20000;
constexpr int kC = 5;
constexpr double kRounding = 1e-5;  // float32 estimates of a zero-variance estimator, relative to the gradient

VectorD test_theta() {
  VectorD theta(kC);
  theta << 0.7, -0.4, 1.3, 0.1, -1.1;
  return theta;
}

// Central finite differences of E_q[f] in each logit.
VectorD finite_difference(const std::function<double(const VectorD&)>& value, const VectorD& theta) {
  const double h = 1e-5;
  VectorD g(theta.size());
  for (Index j = 0; j < theta.size(); ++j) {
    VectorD plus = theta, minus = theta;
    plus(j) += h;
    minus(j) -= h;
    g(j) = (value(plus) - value(minus)) / (2 * h);
  }
  return g;
}

// Brute force: the moments of g(c_1..c_S) over all C^S ordered samples.
ToyMomentsC brute_force(const VectorD& p, int samples, const std::function<VectorD(const std::vector<int>&)>& g) {
  const int C = int(p.size());
  std::vector<int> c(samples, 0);
  VectorD first = VectorD::Zero(C), second = VectorD::Zero(C);
  while (true) {
    double prob = 1;
    for (int x : c) prob *= p(x);
    const VectorD v = g(c);
    first += prob * v;
    second += prob * v.cwiseAbs2();
    int s = 0;
    while (s < samples && ++c[s] == C) c[s++] = 0;
    if (s == samples) break;
  }
  return {first, second - first.cwiseAbs2()};
}

VectorD score(const VectorD& p, int c) {
  VectorD s = -p;
  s(c) += 1;
  return s;
}

std::unique_ptr<Estimator> make(const std::string& name, int samples) {
  EstimatorOptions options;
  options.samples = samples;
  std::string error;
  auto estimator = make_estimator(name, options, LatentKind::categorical, &error);
  INFO(error);
  REQUIRE(estimator);
  return estimator;
}

struct Draws {
  VectorD mean, variance, variance_se;
};
Draws draw(Estimator& estimator, ToyCategorical& toy, const VectorD& theta, std::uint64_t key) {
  Rng rng = Rng::stream(testing::seed(), {stable_hash("toy-categorical-test"), stable_hash(estimator.info().name),
                                          std::uint64_t(estimator.options().samples), key});
  if (auto* ma = dynamic_cast<ReinforceMA*>(&estimator)) {  // give the baseline a value first
    const StochasticNode node = toy_categorical_node(theta);
    NodeGradient grad;
    for (int w = 0; w < 50; ++w) {
      grad.reset_like(node);
      ma->estimate(node, toy, rng, grad);
      ma->learn(rng);
    }
    REQUIRE(ma->baseline() != 0.0);
  }
  const MatrixD x = toy_categorical_draws(estimator, toy, theta, kDraws, rng);
  const double R = double(kDraws);
  Draws d;
  d.mean = x.colwise().mean().transpose();
  const MatrixD centred = x.rowwise() - d.mean.transpose();
  const VectorD m2 = centred.array().square().colwise().sum().transpose() / R;
  const VectorD m4 = centred.array().square().square().colwise().sum().transpose() / R;
  d.variance = m2 * (R / (R - 1));
  d.variance_se = ((m4 - m2.cwiseAbs2()).cwiseMax(0.0) / R).cwiseSqrt();
  return d;
}

double max_abs_z_mean(const Draws& d, const VectorD& reference) {
  double z = 0;
  for (Index j = 0; j < reference.size(); ++j) {
    const double se = std::sqrt(d.variance(j) / double(kDraws));
    z = std::max(z, se > 0 ? std::abs(d.mean(j) - reference(j)) / se : INFINITY);
  }
  return z;
}
double max_abs_z_variance(const Draws& d, const VectorD& exact) {
  double z = 0;
  for (Index j = 0; j < exact.size(); ++j)
    z = std::max(z, d.variance_se(j) > 0 ? std::abs(d.variance(j) - exact(j)) / d.variance_se(j) : INFINITY);
  return z;
}

struct Case {
  const char* name;
  int samples;
};
// The estimators whose exact moments the toy knows and whose estimates vary.
const Case kWithExact[] = {{"reinforce", 1},        {"reinforce", 3},     {"reinforce-ma", 2},
                           {"reinforce-loo", 2},    {"reinforce-loo", 4}, {"unordered-set", 2},
                           {"unordered-set", 3},    {"straight-through", 2}, {"reinforce-self-baseline", 3}};
const Case kBiased[] = {{"gumbel-softmax", 1},
                        {"straight-through-gumbel", 1},
                        {"straight-through", 2},
                        {"reinforce-self-baseline", 3}};

}  // namespace

TEST_CASE("categorical toy: the exact gradient against finite differences, a wrong gradient fails the check",
          "[toy][categorical]") {
  for (int C : {2, 3, 7})
    for (double t : {0.45, -0.3, 1.2}) {
      ToyCategorical toy(C, t);
      VectorD theta = VectorD::LinSpaced(C, -1.0, 1.5);
      theta(0) = 0.3;
      const VectorD fd = finite_difference([&](const VectorD& th) { return toy.expected_value(th); }, theta);
      const VectorD exact = toy.exact_gradient(theta);
      INFO("C = " << C << " t = " << t);
      CHECK((exact - fd).cwiseAbs().maxCoeff() <= testing::tolerance::kFiniteDifference * (1 + fd.cwiseAbs().maxCoeff()));
      // Without the centring term (p (.) f instead of p (.) (f - E f)) the same check fails.
      const VectorD p = tc::probabilities(theta);
      const VectorD wrong = (p.array() * toy.values().array()).matrix();
      CHECK((wrong - fd).cwiseAbs().maxCoeff() > 100 * testing::tolerance::kFiniteDifference);
    }
}

TEST_CASE("categorical toy: exact moments by multisets equal brute force over all C^S samples", "[toy][categorical]") {
  const VectorD theta = test_theta();
  const VectorD p = tc::probabilities(theta);
  ToyCategorical toy(kC, 0.45);
  for (int S : {2, 3, 4}) {
    const ToyMomentsC loo = tc::leave_one_out(toy, theta, S), self = tc::self_baseline(toy, theta, S);
    auto centred = [&](const std::vector<int>& c, double divisor) {
      double mean = 0;
      for (int x : c) mean += toy.f(x) / S;
      VectorD g = VectorD::Zero(kC);
      for (int x : c) g += (toy.f(x) - mean) * score(p, x);
      return VectorD(g / divisor);
    };
    const ToyMomentsC loo_bf = brute_force(p, S, [&](const std::vector<int>& c) { return centred(c, S - 1); });
    const ToyMomentsC self_bf = brute_force(p, S, [&](const std::vector<int>& c) { return centred(c, S); });
    INFO("S = " << S);
    CHECK((loo.mean - loo_bf.mean).cwiseAbs().maxCoeff() <= 1e-12);
    CHECK((loo.variance - loo_bf.variance).cwiseAbs().maxCoeff() <= 1e-12);
    CHECK((self.mean - self_bf.mean).cwiseAbs().maxCoeff() <= 1e-12);
    CHECK((self.variance - self_bf.variance).cwiseAbs().maxCoeff() <= 1e-12);
    // Leave-one-out is unbiased, the self-baseline is not (its mean is (S-1)/S of the gradient).
    CHECK((loo.mean - toy.exact_gradient(theta)).cwiseAbs().maxCoeff() <= 1e-12);
    CHECK((self.mean - toy.exact_gradient(theta) * (S - 1.0) / S).cwiseAbs().maxCoeff() <= 1e-12);
    // Score function with a baseline b: one sample's moments by brute force, then / S.
    const ToyMomentsC sf = tc::score_function(toy, theta, S, 0.2);
    const ToyMomentsC sf_bf =
        brute_force(p, 1, [&](const std::vector<int>& c) { return VectorD((toy.f(c[0]) - 0.2) * score(p, c[0])); });
    CHECK((sf.mean - sf_bf.mean).cwiseAbs().maxCoeff() <= 1e-12);
    CHECK((sf.variance - sf_bf.variance / S).cwiseAbs().maxCoeff() <= 1e-12);
  }
  CHECK(tc::multiset_count(10, 2) == 55);
  CHECK(tc::multiset_count(3, 4) == 15);
}

TEST_CASE("categorical toy: IndeCateR is exact on one latent, the unordered set estimator is unbiased for every S",
          "[toy][categorical]") {
  for (double t : {0.45, 0.9}) {
    ToyCategorical toy(kC, t);
    const VectorD theta = test_theta(), truth = toy.exact_gradient(theta);
    const ToyMomentsC ind = tc::indecater(toy, theta);
    CHECK((ind.mean - truth).cwiseAbs().maxCoeff() <= 1e-15);
    for (int S = 2; S <= kC; ++S) {
      const ToyMomentsC us = tc::unordered_set(toy, theta, S);
      INFO("t = " << t << " S = " << S);
      CHECK((us.mean - truth).cwiseAbs().maxCoeff() <= 1e-13);
      if (S == kC) CHECK(us.variance.maxCoeff() <= 1e-12 * truth.squaredNorm());  // double rounding of E g^2 - (E g)^2
      else CHECK(us.variance.maxCoeff() > 1e-8);
    }
    // With fewer samples the variance grows (S = 2 against S = 4).
    CHECK(tc::unordered_set(toy, theta, 2).variance.sum() > tc::unordered_set(toy, theta, 4).variance.sum());
  }
}

TEST_CASE("categorical toy: the unordered set's exact moments stay finite when one value holds nearly all the mass",
          "[toy][categorical]") {
  // Logits 40 apart: 1 - p(drawn) would cancel to 0 (p of the small values ~ e^-40 ~ 4e-18).
  ToyCategorical toy(3, 0.45);
  VectorD theta(3);
  theta << 0, 40, 0;
  const VectorD truth = toy.exact_gradient(theta);
  const ToyMomentsC us = tc::unordered_set(toy, theta, 2);
  INFO("mean " << us.mean.transpose() << " truth " << truth.transpose() << " variance " << us.variance.transpose());
  REQUIRE(us.mean.allFinite());
  REQUIRE(us.variance.allFinite());
  // The rare values' coordinates p_c (f_c - E f) are accurate in the reference too (f_c - E f is O(0.1));
  // the likely value's f_1 - E f is itself a cancellation, so only the rare ones are compared.
  for (int c : {0, 2}) CHECK(std::abs(us.mean(c) - truth(c)) <= 1e-9 * std::abs(truth(c)));
  CHECK(us.variance.minCoeff() >= 0);
}

TEST_CASE("categorical toy: each estimator's empirical mean and variance match its exact moments", "[toy][categorical]") {
  const VectorD theta = test_theta();
  const std::size_t tests = 2 * 2 * std::size(kWithExact) * kC;  // t values x (mean, variance) x cases x coordinates
  const double threshold = testing::bonferroni_z(kAlpha, tests);
  for (double t : {0.45, 0.9}) {
    ToyCategorical toy(kC, t);
    for (const Case& c : kWithExact) {
      auto estimator = make(c.name, c.samples);
      const Draws d = draw(*estimator, toy, theta, std::uint64_t(t * 100));
      const auto exact = toy_categorical_exact_moments(*estimator, toy, theta);
      REQUIRE(exact);
      const double z_mean = max_abs_z_mean(d, exact->mean), z_var = max_abs_z_variance(d, exact->variance);
      INFO(fmt::format("{} S={} t={}: max |z| mean {:.2f}, variance {:.2f}, threshold {:.2f}", c.name, c.samples, t,
                       z_mean, z_var, threshold));
      CHECK(z_mean <= threshold);
      CHECK(z_var <= threshold);
    }
  }
}

TEST_CASE("categorical toy: the test rejects the biased estimators and a wrong exact variance", "[toy][categorical]") {
  const VectorD theta = test_theta();
  ToyCategorical toy(kC, 0.45);
  const VectorD truth = toy.exact_gradient(theta);
  const double threshold = testing::bonferroni_z(kAlpha, 2 * 2 * std::size(kWithExact) * kC);
  for (const Case& c : kBiased) {
    auto estimator = make(c.name, c.samples);
    const double z = max_abs_z_mean(draw(*estimator, toy, theta, 1), truth);
    INFO(c.name << " S=" << c.samples << ": max |z| against the true gradient " << z);
    CHECK(z > threshold);
  }
  auto loo = make("reinforce-loo", 3);
  const Draws d = draw(*loo, toy, theta, 2);
  const double z = max_abs_z_variance(d, tc::self_baseline(toy, theta, 3).variance);
  INFO("reinforce-loo S=3 draws against the self-baseline's exact variance: max |z| " << z);
  CHECK(z > threshold);
}

TEST_CASE("categorical toy: estimators without spread equal the exact gradient", "[toy][categorical]") {
  const VectorD theta = test_theta();
  ToyCategorical toy(kC, 0.45);
  const VectorD truth = toy.exact_gradient(theta);
  for (const Case& c : {Case{"indecater", 2}, Case{"exact", 1}, Case{"unordered-set", kC}}) {
    auto estimator = make(c.name, c.samples);
    const Draws d = draw(*estimator, toy, theta, 3);
    INFO(c.name);
    CHECK(d.variance.cwiseSqrt().maxCoeff() <= kRounding * truth.cwiseAbs().maxCoeff());
    CHECK((d.mean - truth).cwiseAbs().maxCoeff() <= kRounding * truth.cwiseAbs().maxCoeff());
  }
}

TEST_CASE("gradest toy-categorical writes the per-coordinate table to HDF5", "[toy][categorical][cli]") {
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("gradest-toy-cat-{}", ::getpid());
  std::filesystem::create_directories(dir);
  const std::string out = (dir / "toy.h5").string();
  const auto result = testing::run_gradest(fmt::format(
      "toy-categorical --categories 4 --theta 0.5,-1,0,1 --t 0.3,0.7 --samples 3 --repeats 2000 "
      "--estimators reinforce-loo,indecater,gumbel-softmax --out {}",
      out));
  INFO(result.output);
  REQUIRE(result.status == 0);
  CHECK(result.output.find("(BIASED)") != std::string::npos);
  H5::H5File file(out, H5F_ACC_RDONLY);
  auto dims = [&](const std::string& path) {
    H5::DataSet ds = file.openDataSet(path);
    hsize_t d[2] = {0, 0};
    const int rank = ds.getSpace().getSimpleExtentDims(d);
    return std::vector<hsize_t>(d, d + rank);
  };
  CHECK(dims("/toy_categorical/theta") == std::vector<hsize_t>{4});
  CHECK(dims("/toy_categorical/true_gradient") == std::vector<hsize_t>{2, 4});
  for (const char* name : {"reinforce-loo", "indecater", "gumbel-softmax"}) {
    const std::string g = std::string("/toy_categorical/estimators/") + name;
    for (const char* ds : {"mean", "variance", "variance_se", "exact_mean", "exact_variance"})
      CHECK(dims(g + "/" + ds) == std::vector<hsize_t>{2, 4});
    CHECK(dims(g + "/total_variance") == std::vector<hsize_t>{2});
  }
  // The exact moments written are the toy's.
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> buffer(2, 4);
  file.openDataSet("/toy_categorical/estimators/reinforce-loo/exact_variance").read(buffer.data(), H5::PredType::NATIVE_DOUBLE);
  VectorD theta(4);
  theta << 0.5, -1, 0, 1;
  CHECK((buffer.row(1).transpose() - tc::leave_one_out(ToyCategorical(4, 0.7), theta, 3).variance).cwiseAbs().maxCoeff() ==
        0.0);
  file.close();
  std::filesystem::remove_all(dir);
}

}  // namespace gradest

namespace gradest {

TEST_CASE("check-unbiased on the categorical toy: unbiased estimators pass, relaxations fail, --temperature reaches them",
          "[toy][categorical][cli]") {
  for (const char* estimator : {"reinforce-loo --samples 2", "unordered-set --samples 3", "indecater"}) {
    const auto r = testing::run_gradest(fmt::format("check-unbiased --model toy-categorical --estimator {}", estimator));
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(r.output.find("PASS") != std::string::npos);
  }
  // The relaxation's bias shrinks with the temperature: the largest |z| differs, both fail.
  auto largest_z = [](const std::string& output) {
    const auto at = output.find("largest |z| ", output.find("\nlargest |z|"));
    return at == std::string::npos ? -1.0 : std::stod(output.substr(at + 12));
  };
  const auto hot = testing::run_gradest("check-unbiased --model toy-categorical --estimator gumbel-softmax");
  const auto cold =
      testing::run_gradest("check-unbiased --model toy-categorical --estimator gumbel-softmax --temperature 0.3");
  INFO(hot.output << cold.output);
  CHECK(hot.status == 1);
  CHECK(cold.status == 1);
  CHECK(largest_z(hot.output) > largest_z(cold.output));
  CHECK(largest_z(cold.output) > 0);
}

}  // namespace gradest
