#pragma once
#include <cstdint>
#include <memory>

#include "models/types.hpp"
#include "models/vae.hpp"

namespace gradest {

// Small instances for check-unbiased and the unbiasedness suite: a Bernoulli VAE with `latents`
// (<= 8) latents, an MLP encoder and decoder with one hidden layer of 6 tanh units, 10 binary
// pixels, and `batch` random binary data points; or a Gaussian VAE (latents <= 2) with the same
// networks. Parameters are drawn (a function of seed), moved off zero so no gradient vanishes
// (Gaussian: then scaled by 0.6, so the quadrature reference converges quickly).
// Categorical latents: C = kSmallInstanceCategories values each.
inline constexpr int kSmallInstanceCategories = 3;
struct SmallInstance {
  std::unique_ptr<Vae> vae;
  Matrix x;
};
SmallInstance make_small_instance(LatentKind kind, int latents, int batch, std::uint64_t seed);

}  // namespace gradest
