// The two VAEs: objective values against textbook formulas, ELBO gradients for fixed noise against
// central finite differences (every parameter: encoder, decoder, prior logits, learned sigma), the
// objective's df/dz, kl_backward, the analytic KLs (exact enumeration; a Monte Carlo z-test), and
// the samplers (z-tests).
#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>
#include <stdexcept>

#include "models/latent_family.hpp"
#include "models/distributions.hpp"
#include "models/vae.hpp"
#include "tests/gradient_check.hpp"
#include "tests/support.hpp"

using namespace gradest;
using gradest::testing::check_gradient;
using Terms = Objective::Terms;

namespace {

constexpr Index kBatch = 4;
constexpr int kSamples = 2;
constexpr double kTemperature = 0.7;  // of the relaxed Bernoulli chain used to check pathwise flow

struct Case {
  LatentKind latent = LatentKind::gaussian;
  Likelihood likelihood = Likelihood::bernoulli;
  bool centre_input = false;
  bool signed_latent_input = false;
  bool output_bias = false;
};

std::string describe(const Case& c) {
  return fmt::format("latent {} likelihood {} centre {} signed {} bias {}", to_string(c.latent), to_string(c.likelihood),
                     c.centre_input, c.signed_latent_input, c.output_bias);
}

VaeConfig small_config(const Case& c) {
  VaeConfig config;
  config.latent = c.latent;
  config.input_dim = 6;
  config.latents = 3;
  config.encoder = NetworkSpec{{5}, Activation::tanh};
  config.decoder = NetworkSpec{{4}, Activation::leaky_relu};
  config.likelihood = c.likelihood;
  config.categories = 3;
  config.fixed_sigma = 0.7;
  config.centre_input = c.centre_input;
  if (c.centre_input) config.input_mean = Vector::LinSpaced(6, 0.2, 0.7);
  config.signed_latent_input = c.signed_latent_input;
  if (c.output_bias) config.output_bias_init = Vector::LinSpaced(config.decoder_outputs(), -1.0, 1.0);
  return config;
}

Matrix small_data(const VaeConfig& config, Rng& rng) {
  Matrix x(kBatch, config.input_dim);
  for (Index i = 0; i < x.size(); ++i) {
    switch (config.likelihood) {
      case Likelihood::bernoulli: x(i) = rng.uniform() < 0.4 ? 1.0 : 0.0; break;
      case Likelihood::gaussian_fixed:
      case Likelihood::gaussian_learned: x(i) = rng.normal(); break;
      case Likelihood::categorical: x(i) = std::floor(rng.uniform() * config.categories); break;
    }
  }
  return x;
}

// A VAE with every parameter moved off its initial value (prior logits and log-sigma included).
std::unique_ptr<Vae> small_vae(const Case& c, Rng& rng) {
  auto vae = Vae::make(small_config(c), rng);
  Vector noise(vae->parameters().size());
  for (Index i = 0; i < noise.size(); ++i) noise(i) = 0.3 * rng.normal();
  vae->parameters().values() += noise;
  return vae;
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (LatentKind latent : {LatentKind::gaussian, LatentKind::bernoulli})
    for (Likelihood likelihood :
         {Likelihood::bernoulli, Likelihood::gaussian_fixed, Likelihood::gaussian_learned, Likelihood::categorical})
      cases.push_back({latent, likelihood});
  cases.push_back({LatentKind::gaussian, Likelihood::bernoulli, true, false, true});
  cases.push_back({LatentKind::bernoulli, Likelihood::bernoulli, true, true, true});   // the DisARM protocol
  cases.push_back({LatentKind::bernoulli, Likelihood::categorical, false, true, true});
  return cases;
}

Vector row_weights(Rng& rng) {
  Vector w(kSamples * kBatch);
  for (Index i = 0; i < w.size(); ++i) w(i) = 0.3 + rng.uniform();
  return w;
}

Matrix kl_weights(Index k, Rng& rng) {
  Matrix beta(kBatch, k);
  for (Index i = 0; i < beta.size(); ++i) beta(i) = 0.2 + rng.uniform();
  return beta;
}

// z as a differentiable function of the node for fixed noise:
//   Gaussian:  z = mean + exp(log_var / 2) eps                       (noise = eps ~ N(0, 1))
//   Bernoulli: z = sigmoid((logit + log(u / (1 - u))) / temperature)  (noise = u ~ U(0, 1); the
//              binary-Concrete relaxation, so the chain encoder -> z -> decoder is differentiable)
void latent_from_noise(const StochasticNode& node, const Matrix& noise, Matrix& z) {
  const Index B = node.batch();
  z.resize(noise.rows(), noise.cols());
  for (Index r = 0; r < noise.rows(); ++r)
    for (Index j = 0; j < noise.cols(); ++j) {
      const Index b = r % B;
      if (node.kind() == LatentKind::gaussian) {
        z(r, j) = node.mean(b, j) + std::exp(0.5 * node.log_var(b, j)) * noise(r, j);
      } else {
        const double u = noise(r, j);
        z(r, j) = sigmoid((node.logits(b, j) + std::log(u / (1 - u))) / kTemperature);
      }
    }
}

// grad += dz/dnode^T dz_weighted for latent_from_noise.
void accumulate_latent_chain(const StochasticNode& node, const Matrix& noise, const Matrix& z, const Matrix& dz,
                             NodeGradient& grad) {
  if (node.kind() == LatentKind::gaussian) {
    accumulate_reparam(node, dz, noise, grad);
    return;
  }
  const Index B = node.batch();
  for (Index r = 0; r < z.rows(); ++r)
    for (Index j = 0; j < z.cols(); ++j) grad.d_logits(r % B, j) += dz(r, j) * z(r, j) * (1 - z(r, j)) / kTemperature;
}

Matrix latent_noise(LatentKind kind, Index k, Rng& rng) {
  Matrix noise(kSamples * kBatch, k);
  if (kind == LatentKind::gaussian)
    rng.fill_normal(noise);
  else
    rng.fill_uniform_open(noise);
  return noise;
}

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

TEST_CASE("vae: ELBO gradient for fixed noise matches finite differences for every parameter",
          "[models][vae][gradient]") {
  // F(theta) = sum_r w_r f(x_{r mod B}, z_r(theta; noise)) - sum_{b,j} beta_bj KL_bj(theta)   (likelihood)
  // F(theta) = sum_r w_r f_joint(x_{r mod B}, z_r(theta; noise))                             (joint)
  // with z(theta; noise) the reparameterisation (Gaussian) or the binary-Concrete relaxation
  // (Bernoulli), checked against vae.gradient() after objective.backward (with grad_z), the
  // chain into the node, kl_backward and encode_backward.
  Rng rng = Rng::stream(gradest::testing::seed(), {12});
  for (const Case& c : all_cases())
    for (Terms terms : {Terms::likelihood, Terms::joint}) {
      CAPTURE(describe(c), terms == Terms::joint);
      auto vae = small_vae(c, rng);
      const VaeConfig& config = vae->config();
      const Matrix x = small_data(config, rng);
      const Matrix noise = latent_noise(c.latent, config.latents, rng);
      const Vector w = row_weights(rng);
      const Matrix beta = kl_weights(config.latents, rng);

      auto value = [&] {
        StochasticNode node;
        vae->encode(Network::kInferenceSlot, x, node);
        Matrix z, kl;
        latent_from_noise(node, noise, z);
        Vector f;
        vae->objective(x, terms).evaluate(3, z, f);
        double total = f.dot(w);
        if (terms == Terms::likelihood) {
          vae->kl(node, kl);
          total -= (beta.array() * kl.array()).sum();
        }
        return total;
      };

      vae->zero_gradient();
      StochasticNode node;
      vae->encode(x, node);
      Matrix z, dz, kl;
      latent_from_noise(node, noise, z);
      Objective& objective = vae->objective(x, terms);
      Vector f;
      objective.evaluate(0, z, f);
      objective.backward(0, w, &dz);
      NodeGradient grad;
      grad.reset_like(node);
      accumulate_latent_chain(node, noise, z, dz, grad);
      if (terms == Terms::likelihood) {
        vae->kl(node, kl);
        vae->kl_backward(node, beta, grad);
      }
      vae->encode_backward(grad);
      const Vector analytic = vae->gradient();
      // every group receives gradient (the prior through the KL or through log p(z))
      for (const auto& group : vae->parameters().groups()) {
        CAPTURE(group.name);
        CHECK(analytic.segment(group.offset, group.size).cwiseAbs().maxCoeff() > 0);
      }

      auto result = check_gradient(vae->parameters().values(), value, analytic);
      INFO(result.describe());
      CHECK(result.passed);
      CHECK(result.checked == vae->parameters().size());
    }
}

TEST_CASE("vae: score-function surrogate at binary z matches finite differences", "[models][vae][gradient]") {
  // Bernoulli VAE at fixed binary z (the case every discrete estimator uses):
  // F(theta) = sum_r c_r log q(z_r | x) + sum_r w_r f(x, z_r) - sum beta KL.
  Rng rng = Rng::stream(gradest::testing::seed(), {13});
  for (const Case& c : all_cases()) {
    if (c.latent != LatentKind::bernoulli) continue;
    CAPTURE(describe(c));
    auto vae = small_vae(c, rng);
    const VaeConfig& config = vae->config();
    const Matrix x = small_data(config, rng);
    Matrix z(kSamples * kBatch, config.latents);
    rng.fill_uniform(z);
    z = (z.array() < 0.5).cast<Real>();
    const Vector w = row_weights(rng), score_weight = row_weights(rng);
    const Matrix beta = kl_weights(config.latents, rng);
    auto value = [&] {
      StochasticNode node;
      vae->encode(Network::kInferenceSlot, x, node);
      Vector f, log_q;
      Matrix kl;
      vae->objective(x, Terms::likelihood).evaluate(2, z, f);
      log_prob(node, z, log_q);
      vae->kl(node, kl);
      return f.dot(w) + log_q.dot(score_weight) - (beta.array() * kl.array()).sum();
    };
    vae->zero_gradient();
    StochasticNode node;
    vae->encode(x, node);
    Objective& objective = vae->objective(x, Terms::likelihood);
    Vector f;
    objective.evaluate(1, z, f);
    objective.backward(1, w, nullptr);
    NodeGradient grad;
    grad.reset_like(node);
    accumulate_score(node, z, score_weight, grad);
    vae->kl_backward(node, beta, grad);
    vae->encode_backward(grad);
    auto result = check_gradient(vae->parameters().values(), value, vae->gradient());
    INFO(result.describe());
    CHECK(result.passed);
  }
}

TEST_CASE("vae: objective df/dz matches finite differences", "[models][vae][gradient]") {
  Rng rng = Rng::stream(gradest::testing::seed(), {14});
  for (const Case& c : all_cases())
    for (Terms terms : {Terms::likelihood, Terms::joint}) {
      CAPTURE(describe(c), terms == Terms::joint);
      auto vae = small_vae(c, rng);
      const Matrix x = small_data(vae->config(), rng);
      Matrix z = latent_noise(c.latent, vae->config().latents, rng);  // relaxed z in (0, 1) for Bernoulli
      const Vector w = row_weights(rng);
      Objective& objective = vae->objective(x, terms);
      Vector f;
      Matrix grad_z;
      objective.evaluate(2, z, f);
      vae->zero_gradient();
      objective.backward(2, w, &grad_z);
      REQUIRE(grad_z.rows() == z.rows());
      REQUIRE(grad_z.cols() == z.cols());
      auto result = check_gradient(
          z,
          [&] {
            Vector value;
            objective.evaluate(3, z, value);
            return value.dot(w);
          },
          grad_z);
      INFO(result.describe());
      CHECK(result.passed);
    }
}

TEST_CASE("vae: kl_backward matches finite differences (node and prior logits)", "[models][vae][gradient]") {
  Rng rng = Rng::stream(gradest::testing::seed(), {15});
  for (LatentKind latent : {LatentKind::gaussian, LatentKind::bernoulli}) {
    CAPTURE(to_string(latent));
    auto vae = small_vae({latent, Likelihood::bernoulli}, rng);
    const Index k = vae->config().latents;
    StochasticNode node;
    node.family = &latent_family(latent);
    Matrix* fields[] = {&node.logits, &node.mean, &node.log_var};
    for (Matrix* m : fields) {
      m->resize(kBatch, k);
      rng.fill_normal(*m);
      *m *= 2.0;
    }
    if (latent == LatentKind::bernoulli) {
      node.mean.resize(0, 0);
      node.log_var.resize(0, 0);
    } else {
      node.logits.resize(0, 0);
    }
    const Matrix beta = kl_weights(k, rng);
    auto weighted_kl = [&] {
      Matrix kl;
      vae->kl(node, kl);
      return (beta.array() * kl.array()).sum();
    };
    vae->zero_gradient();
    NodeGradient grad;
    grad.reset_like(node);
    vae->kl_backward(node, beta, grad);
    // kl_backward adds -beta .* dKL: compare -grad with d(weighted KL).
    const Matrix d_logits = -grad.d_logits, d_mean = -grad.d_mean, d_log_var = -grad.d_log_var;
    const Vector d_params = -vae->gradient();
    if (latent == LatentKind::bernoulli) {
      auto r1 = check_gradient(node.logits, weighted_kl, d_logits);
      INFO(r1.describe());
      CHECK(r1.passed);
      CHECK(d_params.segment(vae->parameters().find("prior")->offset, k).cwiseAbs().maxCoeff() > 0);
    } else {
      auto r1 = check_gradient(node.mean, weighted_kl, d_mean);
      auto r2 = check_gradient(node.log_var, weighted_kl, d_log_var);
      INFO(r1.describe() << "\n" << r2.describe());
      CHECK(r1.passed);
      CHECK(r2.passed);
    }
    auto r3 = check_gradient(vae->parameters().values(), weighted_kl, d_params);
    INFO(r3.describe());
    CHECK(r3.passed);
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
