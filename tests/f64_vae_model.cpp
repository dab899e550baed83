// The two VAEs as models (tests/vae_cases.hpp: every latent family x likelihood): parameter groups,
// invalid configurations, objective values against textbook formulas, the analytic KLs (exact
// enumeration; a Monte Carlo z-test), the samplers (z-tests), and the encoder's outputs (centred,
// signed DisARM inputs). The gradients: tests/f64_vae.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>
#include <stdexcept>

#include "models/latent_family.hpp"
#include "models/distributions.hpp"
#include "models/vae.hpp"
#include "tests/support.hpp"
#include "tests/vae_cases.hpp"

using namespace gradest;
using namespace gradest::testing::vae_cases;
using Terms = Objective::Terms;

namespace {

double naive_log_sigmoid(double x) { return std::log(1 / (1 + std::exp(-x))); }

}  // namespace

TEST_CASE("vae: parameter groups", "[models][vae]") {
  Rng rng = Rng::stream(gradest::testing::seed(), {10});
  {
    auto vae = Vae::make(small_config({LatentKind::bernoulli, Likelihood::bernoulli}), rng);
    const Parameters& p = vae->parameters();
    REQUIRE(p.groups().size() == 3);
    CHECK(p.groups()[0].name == "encoder");
    CHECK(p.groups()[1].name == "decoder");
    CHECK(p.groups()[2].name == "prior");
    CHECK(p.find("encoder")->size == Network::parameter_count(6, 3, NetworkSpec{{5}, Activation::tanh}));
    CHECK(p.find("decoder")->size == Network::parameter_count(3, 6, NetworkSpec{{4}, Activation::leaky_relu}));
    CHECK(p.find("prior")->size == 3);
    CHECK(vae->parameters().group("prior").isZero());
    CHECK(vae->gradient().size() == p.size());
  }
  {
    auto vae = Vae::make(small_config({LatentKind::gaussian, Likelihood::gaussian_learned, false, false, true}), rng);
    const Parameters& p = vae->parameters();
    REQUIRE(p.groups().size() == 2);
    CHECK(p.find("prior") == nullptr);
    CHECK(p.find("encoder")->size == Network::parameter_count(6, 6, NetworkSpec{{5}, Activation::tanh}));
    const Index decoder_net = Network::parameter_count(3, 6, NetworkSpec{{4}, Activation::leaky_relu});
    CHECK(p.find("decoder")->size == decoder_net + 6);
    // log sigma starts at log(fixed_sigma), at the end of the decoder group
    CHECK((p.values().segment(p.find("decoder")->offset + decoder_net, 6).array() - std::log(0.7)).abs().maxCoeff() < 1e-15);
    CHECK(vae->decoder().bias(1) == vae->config().output_bias_init);
  }
}

TEST_CASE("vae: invalid configurations are rejected with a reason", "[models][vae]") {
  Rng rng(1);
  std::string error;
  VaeConfig config = small_config({});
  config.latents = 0;
  CHECK_FALSE(config.valid(&error));
  CHECK_THAT(error, Catch::Contains("latents"));
  CHECK_THROWS_AS(Vae::make(config, rng), std::invalid_argument);
  config = small_config({});
  config.centre_input = true;
  CHECK_FALSE(config.valid(&error));
  CHECK_THAT(error, Catch::Contains("input mean"));
  config = small_config({LatentKind::gaussian});
  config.signed_latent_input = true;
  CHECK_FALSE(config.valid(&error));
  config = small_config({LatentKind::bernoulli, Likelihood::categorical});
  config.categories = 1;
  CHECK_FALSE(config.valid(&error));
  CHECK_THAT(error, Catch::Contains("categories"));
  config = small_config({LatentKind::bernoulli, Likelihood::gaussian_fixed});
  config.fixed_sigma = 0;
  CHECK_FALSE(config.valid(&error));
  config = small_config({LatentKind::bernoulli, Likelihood::categorical});
  config.output_bias_init = Vector::Zero(6);  // needs D*V = 18
  CHECK_FALSE(config.valid(&error));
  CHECK_THAT(error, Catch::Contains("18"));
  for (const Case& c : all_cases()) CHECK(small_config(c).valid(nullptr));
  // categorical data must be symbol ids
  auto vae = Vae::make(small_config({LatentKind::bernoulli, Likelihood::categorical}), rng);
  Matrix x = Matrix::Zero(2, 6);
  x(1, 3) = 3;
  CHECK_THROWS_AS(vae->objective(x, Terms::likelihood), std::invalid_argument);
}

TEST_CASE("vae: objective values equal the textbook formulas", "[models][vae]") {
  Rng rng = Rng::stream(gradest::testing::seed(), {11});
  for (const Case& c : all_cases()) {
    CAPTURE(describe(c));
    auto vae = small_vae(c, rng);
    const VaeConfig& config = vae->config();
    const Matrix x = small_data(config, rng);
    Matrix z = latent_noise(c.latent, config.latents, rng);  // uniform (0,1) or normal: fine as z
    Vector likelihood, joint, prior;
    vae->objective(x, Terms::likelihood).evaluate(0, z, likelihood);
    vae->objective(x, Terms::joint).evaluate(1, z, joint);
    vae->log_prior(z, prior);

    Matrix input = c.signed_latent_input ? Matrix((2 * z.array() - 1).matrix()) : z, g;
    vae->decoder().forward(Network::kInferenceSlot, input, g);
    const Index D = config.input_dim;
    for (Index r = 0; r < z.rows(); ++r) {
      double expected = 0;
      for (Index i = 0; i < D; ++i) {
        const double xi = x(r % kBatch, i);
        switch (c.likelihood) {
          case Likelihood::bernoulli:
            expected += xi * naive_log_sigmoid(g(r, i)) + (1 - xi) * std::log(1 - 1 / (1 + std::exp(-g(r, i))));
            break;
          case Likelihood::gaussian_fixed:
          case Likelihood::gaussian_learned: {
            const Index decoder_net = vae->decoder().size();
            const double sigma = c.likelihood == Likelihood::gaussian_fixed
                                     ? 0.7
                                     : std::exp(vae->parameters().values()(vae->decoder().offset() + decoder_net + i));
            expected += -0.5 * std::pow((xi - g(r, i)) / sigma, 2) - std::log(sigma) - 0.5 * std::log(2 * std::numbers::pi);
            break;
          }
          case Likelihood::categorical: {
            double total = 0;
            for (int v = 0; v < 3; ++v) total += std::exp(g(r, v * D + i));
            expected += g(r, Index(xi) * D + i) - std::log(total);
            break;
          }
        }
      }
      CHECK(likelihood(r) == Approx(expected).epsilon(1e-12));
      double expected_prior = 0;
      for (Index j = 0; j < config.latents; ++j) {
        if (c.latent == LatentKind::gaussian) {
          expected_prior += -0.5 * z(r, j) * z(r, j) - 0.5 * std::log(2 * std::numbers::pi);
        } else {
          const double a = vae->parameters().group("prior")(j);
          expected_prior += z(r, j) * naive_log_sigmoid(a) + (1 - z(r, j)) * naive_log_sigmoid(-a);
        }
      }
      CHECK(prior(r) == Approx(expected_prior).epsilon(1e-12));
      CHECK(joint(r) == Approx(expected + expected_prior).epsilon(1e-12));
    }
  }
}


TEST_CASE("vae: Bernoulli KL equals its exact sum over all 2^k latent configurations", "[models][vae][kl]") {
  Rng rng = Rng::stream(gradest::testing::seed(), {16});
  VaeConfig config = small_config({LatentKind::bernoulli, Likelihood::bernoulli});
  config.latents = 4;
  auto vae = Vae::make(config, rng);
  vae->parameters().group("prior") << 0.5, -1.5, 3.0, -0.2;
  StochasticNode node;
  node.family = &latent_family(LatentKind::bernoulli);
  node.logits.resize(5, 4);
  rng.fill_normal(node.logits);
  node.logits *= 3.0;
  node.logits(4, 2) = 30;  // saturated
  Matrix kl;
  vae->kl(node, kl);
  const Vector a = vae->parameters().group("prior");
  for (Index b = 0; b < node.batch(); ++b) {
    double exact = 0;
    for (int mask = 0; mask < 16; ++mask) {
      double log_q = 0, log_p = 0;
      for (int j = 0; j < 4; ++j) {
        const bool one = (mask >> j) & 1;
        log_q += one ? log_sigmoid(node.logits(b, j)) : log_sigmoid(-node.logits(b, j));
        log_p += one ? log_sigmoid(a(j)) : log_sigmoid(-a(j));
      }
      exact += std::exp(log_q) * (log_q - log_p);
    }
    CHECK(kl.row(b).sum() == Approx(exact).epsilon(1e-12).margin(1e-14));
    CHECK(kl.row(b).minCoeff() >= 0);
  }
}

TEST_CASE("vae: analytic Gaussian KL equals a Monte Carlo estimate (z-test)", "[models][vae][kl]") {
  // For each (b, j): KL_bj = E_q[log q(z) - log p(z)]; N draws give a mean with standard error
  // sd/sqrt(N). Two-sided z-test at family-wise level 1e-3, Bonferroni over the B*k cells.
  // The same test applied to a wrong KL (log-variance term scaled by 0.9) must reject.
  Rng rng = Rng::stream(gradest::testing::seed(), {17});
  auto vae = Vae::make(small_config({LatentKind::gaussian, Likelihood::bernoulli}), rng);
  StochasticNode node;
  node.family = &latent_family(LatentKind::gaussian);
  node.mean.resize(kBatch, 3);
  node.log_var.resize(kBatch, 3);
  rng.fill_normal(node.mean);
  rng.fill_normal(node.log_var);
  Matrix kl;
  vae->kl(node, kl);
  const Index N = 40000;
  const double threshold = gradest::testing::bonferroni_z(1e-3, kl.size());
  double worst_z = 0, worst_z_wrong = 0;
  for (Index b = 0; b < kBatch; ++b)
    for (Index j = 0; j < 3; ++j) {
      const double mu = node.mean(b, j), lv = node.log_var(b, j), sd = std::exp(0.5 * lv);
      double sum = 0, sum_sq = 0;
      for (Index n = 0; n < N; ++n) {
        const double eps = rng.normal(), z = mu + sd * eps;
        const double log_ratio = (-0.5 * eps * eps - 0.5 * lv) - (-0.5 * z * z);
        sum += log_ratio;
        sum_sq += log_ratio * log_ratio;
      }
      const double mean = sum / N, se = std::sqrt((sum_sq / N - mean * mean) / N);
      worst_z = std::max(worst_z, std::abs(mean - kl(b, j)) / se);
      const double wrong = 0.5 * (mu * mu + std::exp(lv) - 1 - 0.9 * lv);
      worst_z_wrong = std::max(worst_z_wrong, std::abs(mean - wrong) / se);
    }
  INFO("largest |z| " << worst_z << ", wrong KL " << worst_z_wrong << ", threshold " << threshold);
  CHECK(worst_z < threshold);
  CHECK(worst_z_wrong > threshold);
}

TEST_CASE("vae: samplers draw from p(z) and p(x|z) (z-tests)", "[models][vae][sampling]") {
  // Column means of N draws against the exact means, standard error from the exact variances;
  // two-sided, family-wise level 1e-3, Bonferroni over all columns of all cases.
  Rng rng = Rng::stream(gradest::testing::seed(), {18});
  const Index N = 20000;
  const double threshold = gradest::testing::bonferroni_z(1e-3, 4 * 6 + 3);
  {
    auto vae = Vae::make(small_config({LatentKind::bernoulli, Likelihood::bernoulli}), rng);
    vae->parameters().group("prior") << 1.0, -2.0, 0.3;
    Matrix z;
    vae->sample_prior(N, rng, z);
    for (Index j = 0; j < 3; ++j) {
      const double p = sigmoid(vae->parameters().group("prior")(j));
      CHECK(std::abs(z.col(j).mean() - p) / std::sqrt(p * (1 - p) / N) < threshold);
    }
  }
  for (Likelihood likelihood :
       {Likelihood::bernoulli, Likelihood::gaussian_fixed, Likelihood::gaussian_learned, Likelihood::categorical}) {
    CAPTURE(to_string(likelihood));
    auto vae = small_vae({LatentKind::gaussian, likelihood}, rng);
    const Index D = 6;
    Matrix z0(1, 3);
    rng.fill_normal(z0);
    Matrix z = z0.replicate(N, 1), x, mean;
    vae->sample_data(z, rng, x);
    vae->decode_mean(z0, mean);
    Vector variance(D);
    for (Index i = 0; i < D; ++i) {
      switch (likelihood) {
        case Likelihood::bernoulli: variance(i) = mean(0, i) * (1 - mean(0, i)); break;
        case Likelihood::gaussian_fixed: variance(i) = 0.49; break;
        case Likelihood::gaussian_learned:
          variance(i) = std::exp(2 * vae->parameters().values()(vae->decoder().offset() + vae->decoder().size() + i));
          break;
        case Likelihood::categorical: {
          Matrix p;
          vae->decode_probabilities(z0, p);
          double second = 0;
          for (int v = 0; v < 3; ++v) second += v * v * p(0, v * D + i);
          CHECK(p(0, i) + p(0, D + i) + p(0, 2 * D + i) == Approx(1.0).epsilon(1e-12));
          variance(i) = second - mean(0, i) * mean(0, i);
          break;
        }
      }
      CHECK(std::abs(x.col(i).mean() - mean(0, i)) / std::sqrt(variance(i) / N) < threshold);
    }
  }
}

TEST_CASE("vae: encode shapes and the centred, signed DisARM inputs", "[models][vae]") {
  Rng rng = Rng::stream(gradest::testing::seed(), {19});
  // Centring: encoding x with centre_input equals encoding x - mean without it (same parameters).
  Case plain{LatentKind::bernoulli, Likelihood::bernoulli}, centred{LatentKind::bernoulli, Likelihood::bernoulli, true};
  auto a = Vae::make(small_config(plain), rng);
  auto b = Vae::make(small_config(centred), rng);
  b->parameters().values() = a->parameters().values();
  const Matrix x = small_data(a->config(), rng);
  const Matrix shifted = x.rowwise() - b->config().input_mean.transpose();
  StochasticNode na, nb;
  a->encode(shifted, na);
  b->encode(x, nb);
  CHECK(nb.logits.rows() == kBatch);
  CHECK(nb.logits.cols() == 3);
  CHECK((na.logits - nb.logits).cwiseAbs().maxCoeff() < 1e-14);
  // Gaussian encoder: first k outputs are the mean, the next k the log-variance.
  auto g = Vae::make(small_config({LatentKind::gaussian, Likelihood::bernoulli}), rng);
  StochasticNode ng;
  g->encode(x, ng);
  Matrix out;
  g->encoder().forward(Network::kInferenceSlot, x, out);
  CHECK(ng.mean == out.leftCols(3));
  CHECK(ng.log_var == out.rightCols(3));
}
