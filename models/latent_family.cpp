#include "models/latent_family.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace gradest {

// Defined with each family (models/latent_<name>.cpp).
const LatentFamily& bernoulli_family();
const LatentFamily& gaussian_family();

const LatentFamily& latent_family(LatentKind kind) {
  switch (kind) {
    case LatentKind::bernoulli:
      return bernoulli_family();
    case LatentKind::gaussian:
      return gaussian_family();
  }
  throw std::logic_error("unknown latent kind");
}

void LatentFamily::accumulate_reparam(const StochasticNode&, const Matrix&, const Matrix&, NodeGradient&) const {
  throw std::logic_error(fmt::format("{} latents have no pathwise (reparameterisation) gradient", name()));
}

}  // namespace gradest
