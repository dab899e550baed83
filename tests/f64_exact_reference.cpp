// The exact references (models/exact_reference.hpp) in double precision:
// - their gradients equal central finite differences of their values, for every parameter of a small
//   Bernoulli VAE (enumeration: ELBO and K-sample bound) and a small Gaussian VAE (quadrature: ELBO at
//   d = 2, bound at K = 2, d = 1). At a fixed quadrature order the value is a smooth function of the
//   parameters whose exact derivative is what the pathwise formulas compute, so the check is sharp;
//   convergence across orders is checked by the reference itself.
// - the check catches a wrong reference: the ELBO's gradient does not pass as the bound's;
// - the Gaussian ELBO by quadrature agrees with an independent reparameterised Monte Carlo estimate
//   of the value (z-test, level 1e-6);
// - refusals: too many latents, K*d too large, an unreachable quadrature tolerance.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cmath>

#include "models/small_instance.hpp"
#include "models/exact_reference.hpp"
#include "tests/gradient_check.hpp"
#include "tests/support.hpp"

namespace gradest {
namespace {

// Checks exact_gradient's gradient against finite differences of its value.
testing::GradientCheckResult check_reference(Vae& vae, const Matrix& x, const ExactReferenceOptions& options,
                                             const ExactReferenceOptions& value_options) {
  const ExactGradient exact = exact_gradient(vae, x, options);
  const Vector analytic = exact.gradient.cast<Real>();
  Vector& values = vae.parameters().values();
  auto f = [&] { return exact_gradient(vae, x, value_options).value; };
  return testing::check_gradient(values, f, analytic);
}

}  // namespace

TEST_CASE("exact reference: Bernoulli VAE ELBO and K-sample bound gradients match finite differences",
          "[exact][gradient]") {
  auto instance = make_small_instance(LatentKind::bernoulli, 3, 2, testing::seed());
  Vae& vae = *instance.vae;
  for (int K : {0, 2}) {
    INFO("K = " << K);
    ExactReferenceOptions options;
    options.importance_samples = K;
    const auto result = check_reference(vae, instance.x, options, options);
    INFO(result.describe());
    CHECK(result.passed);
    CHECK(result.checked == vae.parameters().size());
  }
  SECTION("the check catches a wrong reference: the ELBO's gradient against the bound's value") {
    ExactReferenceOptions elbo, bound;
    bound.importance_samples = 2;
    const auto result = check_reference(vae, instance.x, elbo, bound);
    CHECK_FALSE(result.passed);
  }
}

TEST_CASE("exact reference: Gaussian VAE gradients by quadrature match finite differences", "[exact][gradient]") {
  SECTION("ELBO, d = 2") {
    auto instance = make_small_instance(LatentKind::gaussian, 2, 2, testing::seed());
    const auto result = check_reference(*instance.vae, instance.x, {}, {});
    INFO(result.describe());
    CHECK(result.passed);
  }
  SECTION("K-sample bound, K = 2, d = 1") {
    auto instance = make_small_instance(LatentKind::gaussian, 1, 2, testing::seed());
    ExactReferenceOptions options;
    options.importance_samples = 2;
    const auto result = check_reference(*instance.vae, instance.x, options, options);
    INFO(result.describe());
    CHECK(result.passed);
    SECTION("and the check catches the ELBO's gradient posing as the bound's") {
      const auto wrong = check_reference(*instance.vae, instance.x, {}, options);
      CHECK_FALSE(wrong.passed);
    }
  }
}

TEST_CASE("exact reference: the Gaussian ELBO by quadrature agrees with Monte Carlo", "[exact]") {
  auto instance = make_small_instance(LatentKind::gaussian, 2, 3, testing::seed());
  Vae& vae = *instance.vae;
  const double exact = exact_gradient(vae, instance.x).value;
  StochasticNode node;
  vae.encode(instance.x, node);
  Matrix kl;
  vae.kl(node, kl);
  const double kl_sum = kl.sum();
  Objective& f = vae.objective(instance.x, Objective::Terms::likelihood);
  Rng rng = Rng::stream(testing::seed(), {stable_hash("exact-reference-mc")});
  const Index n = 20000, B = instance.x.rows();
  Matrix z(n * B, 2);
  for (Index r = 0; r < z.rows(); ++r)
    for (Index j = 0; j < 2; ++j)
      z(r, j) = node.mean(r % B, j) + std::exp(0.5 * node.log_var(r % B, j)) * rng.normal();
  Vector value;
  f.evaluate(0, z, value);
  // Per draw s: the batch sum of log p(x_b | z_sb); its mean estimates the first term of the ELBO.
  VectorD per_draw = VectorD::Zero(n);
  for (Index r = 0; r < z.rows(); ++r) per_draw(r / B) += value(r);
  const double mean = per_draw.mean();
  const double sd = std::sqrt((per_draw.array() - mean).square().sum() / double(n - 1));
  const double zscore = (mean - kl_sum - exact) / (sd / std::sqrt(double(n)));
  INFO("exact " << exact << " MC " << mean - kl_sum << " z " << zscore);
  CHECK(std::abs(zscore) < testing::bonferroni_z(1e-6, 1));
}

TEST_CASE("exact reference: refuses what it cannot vouch for", "[exact]") {
  std::string why;
  auto bernoulli = make_small_instance(LatentKind::bernoulli, 8, 1, testing::seed());
  CHECK(exact_reference_available(*bernoulli.vae, 2, &why));
  CHECK_FALSE(exact_reference_available(*bernoulli.vae, 3, &why));
  CHECK(why.find("16") != std::string::npos);
  ExactReferenceOptions bound3;
  bound3.importance_samples = 3;
  CHECK_THROWS_AS(exact_gradient(*bernoulli.vae, bernoulli.x, bound3), std::invalid_argument);

  auto gaussian = make_small_instance(LatentKind::gaussian, 2, 1, testing::seed());
  CHECK(exact_reference_available(*gaussian.vae, 2, &why));
  CHECK_FALSE(exact_reference_available(*gaussian.vae, 3, &why));
  ExactReferenceOptions unreachable;
  unreachable.order = 2;
  unreachable.check_order = 3;
  unreachable.tolerance = 1e-14;
  CHECK_THROWS_AS(exact_gradient(*gaussian.vae, gaussian.x, unreachable), std::runtime_error);
}

}  // namespace gradest
