// The two VAEs' gradients (tests/vae_cases.hpp: every latent family x likelihood): ELBO gradients
// for fixed noise against central finite differences (every parameter: encoder, decoder, prior
// logits, learned sigma), the score-function surrogate at binary z, the objective's df/dz, and
// kl_backward (node and prior logits). Values, KLs, samplers and configuration:
// tests/f64_vae_model.cpp.
#include <catch2/catch.hpp>

#include <cmath>

#include "models/latent_family.hpp"
#include "models/distributions.hpp"
#include "models/vae.hpp"
#include "tests/gradient_check.hpp"
#include "tests/support.hpp"
#include "tests/vae_cases.hpp"

using namespace gradest;
using namespace gradest::testing::vae_cases;
using gradest::testing::check_gradient;
using Terms = Objective::Terms;

namespace {

constexpr double kTemperature = 0.7;  // of the relaxed Bernoulli chain used to check pathwise flow

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

}  // namespace

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

TEST_CASE("vae: objective df/dz matches finite differences for categorical latents (z on the simplex)",
          "[models][vae][gradient]") {
  // What the relaxations (gumbel-softmax, straight-through, straight-through-gumbel) need of the
  // categorical VAE: df/dz at relaxed z, each latent's C entries a point inside the simplex.
  Rng rng = Rng::stream(gradest::testing::seed(), {stable_hash("categorical-dz")});
  for (Likelihood likelihood :
       {Likelihood::bernoulli, Likelihood::gaussian_fixed, Likelihood::gaussian_learned, Likelihood::categorical})
    for (Terms terms : {Terms::likelihood, Terms::joint}) {
      const Case c{LatentKind::categorical, likelihood};
      CAPTURE(describe(c), terms == Terms::joint);
      auto vae = small_vae(c, rng);
      const Index C = vae->config().latent_categories, k = vae->config().latents;
      const Matrix x = small_data(vae->config(), rng);
      Matrix z(kSamples * kBatch, k * C);
      for (Index r = 0; r < z.rows(); ++r)
        for (Index j = 0; j < k; ++j) {
          for (Index col = j * C; col < (j + 1) * C; ++col) z(r, col) = std::exp(rng.normal());
          z.row(r).segment(j * C, C) /= z.row(r).segment(j * C, C).sum();
        }
      const Vector w = row_weights(rng);
      Objective& objective = vae->objective(x, terms);
      REQUIRE(objective.differentiable_in_z());
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
