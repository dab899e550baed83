#pragma once
// The small VAEs shared by tests/f64_vae.cpp (gradients) and tests/f64_vae_model.cpp (values, KLs,
// samplers, configuration): every latent family x likelihood combination plus the centred/signed
// (DisARM protocol) inputs and an output bias, a VAE with every parameter moved off its initial
// value, data of the likelihood's kind, and latent noise (normal or uniform on (0, 1)).
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "models/latent_family.hpp"
#include "models/rng.hpp"
#include "models/vae.hpp"

namespace gradest::testing::vae_cases {

inline constexpr Index kBatch = 4;
inline constexpr int kSamples = 2;

struct Case {
  LatentKind latent = LatentKind::gaussian;
  Likelihood likelihood = Likelihood::bernoulli;
  bool centre_input = false;
  bool signed_latent_input = false;
  bool output_bias = false;
};

inline std::string describe(const Case& c) {
  return fmt::format("latent {} likelihood {} centre {} signed {} bias {}", to_string(c.latent), to_string(c.likelihood),
                     c.centre_input, c.signed_latent_input, c.output_bias);
}

inline VaeConfig small_config(const Case& c) {
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

inline Matrix small_data(const VaeConfig& config, Rng& rng) {
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
inline std::unique_ptr<Vae> small_vae(const Case& c, Rng& rng) {
  auto vae = Vae::make(small_config(c), rng);
  Vector noise(vae->parameters().size());
  for (Index i = 0; i < noise.size(); ++i) noise(i) = 0.3 * rng.normal();
  vae->parameters().values() += noise;
  return vae;
}

inline std::vector<Case> all_cases() {
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

inline Matrix latent_noise(LatentKind kind, Index k, Rng& rng) {
  Matrix noise(kSamples * kBatch, k);
  if (kind == LatentKind::gaussian)
    rng.fill_normal(noise);
  else
    rng.fill_uniform_open(noise);
  return noise;
}

}  // namespace gradest::testing::vae_cases
