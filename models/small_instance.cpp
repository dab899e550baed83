#include "models/small_instance.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "models/latent_family.hpp"
#include "models/rng.hpp"

namespace gradest {

SmallInstance make_small_instance(LatentKind kind, int latents, int batch, std::uint64_t seed) {
  const LatentFamily& family = latent_family(kind, kSmallInstanceCategories);
  // Enumerable families: exact references by enumeration; continuous ones: by quadrature.
  const int max_latents = family.enumerable() ? 8 : 2;
  if (latents < 1 || latents > max_latents)
    throw std::invalid_argument(
        fmt::format("small {} instance: latents must be in 1..{}, got {}", to_string(kind), max_latents, latents));
  VaeConfig config;
  config.latent = kind;
  config.latent_categories = kSmallInstanceCategories;
  config.input_dim = 10;
  config.latents = latents;
  config.encoder = NetworkSpec{{6}, Activation::tanh};
  config.decoder = NetworkSpec{{6}, Activation::tanh};
  config.likelihood = Likelihood::bernoulli;
  Rng rng = Rng::stream(seed, {stable_hash("small-instance"), std::uint64_t(family.enumerable())});
  SmallInstance instance;
  instance.vae = Vae::make(config, rng);
  Vector& values = instance.vae->parameters().values();
  for (Index i = 0; i < values.size(); ++i) values(i) += Real(0.5 * rng.normal());
  // Continuous latents: a smoother instance (smaller weights and posterior variances), so the
  // Gauss-Hermite reference converges fast (steep tanh units converge only root-exponentially).
  if (!family.enumerable()) values *= Real(0.6);
  instance.x.resize(batch, config.input_dim);
  for (Index i = 0; i < instance.x.size(); ++i) instance.x(i) = rng.uniform() < 0.4 ? Real(1) : Real(0);
  return instance;
}

}  // namespace gradest
