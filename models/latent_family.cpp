#include "models/latent_family.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace gradest {

// Defined with each family (models/latent_<name>.cpp).
const LatentFamily& bernoulli_family();
const LatentFamily& gaussian_family();
const LatentFamily& categorical_family(int categories);

const LatentFamily& latent_family(LatentKind kind, int categories) {
  switch (kind) {
    case LatentKind::bernoulli:
      return bernoulli_family();
    case LatentKind::gaussian:
      return gaussian_family();
    case LatentKind::categorical:
      return categorical_family(categories);
  }
  throw std::logic_error("unknown latent kind");
}

void LatentFamily::accumulate_reparam(const StochasticNode&, const Matrix&, const Matrix&, NodeGradient&) const {
  throw std::logic_error(fmt::format("{} latents have no pathwise (reparameterisation) gradient", name()));
}

void LogitsFamily::node_from_encoder(Matrix& encoder_out, StochasticNode& node) const {
  node.family = this;
  node.logits.swap(encoder_out);
  node.mean.resize(0, 0);
  node.log_var.resize(0, 0);
}

void LogitsFamily::reset_gradient(const StochasticNode& node, NodeGradient& grad) const {
  grad.d_logits.setZero(node.logits.rows(), node.logits.cols());
  grad.d_mean.resize(0, 0);
  grad.d_log_var.resize(0, 0);
}

void LatentFamily::relaxed_sample(const StochasticNode&, int, double, Rng&, Matrix&, Matrix&) const {
  throw std::logic_error(fmt::format("{} latents have no continuous relaxation", name()));
}

void LatentFamily::accumulate_relaxed(const StochasticNode&, const Matrix&, const Matrix&, double,
                                      NodeGradient&) const {
  throw std::logic_error(fmt::format("{} latents have no continuous relaxation", name()));
}

void LatentFamily::harden(const Matrix&, Matrix&) const {
  throw std::logic_error(fmt::format("{} latents have no continuous relaxation", name()));
}

void LatentFamily::accumulate_mean_pathwise(const StochasticNode&, const Matrix&, NodeGradient&) const {
  throw std::logic_error(fmt::format("{} latents have no straight-through gradient", name()));
}

void LatentFamily::value_log_probs(const StochasticNode&, MatrixD&) const {
  throw std::logic_error(fmt::format("{} latents cannot be enumerated", name()));
}

void LatentFamily::set_value(Matrix&, Index, Index, int) const {
  throw std::logic_error(fmt::format("{} latents cannot be enumerated", name()));
}

void LatentFamily::add_value_expectation_gradient(const StochasticNode&, Index, Index, const double*,
                                                  NodeGradient&) const {
  throw std::logic_error(fmt::format("{} latents cannot be enumerated", name()));
}

void LatentFamily::configuration(std::uint64_t, Index, Real*) const {
  throw std::logic_error(fmt::format("{} latents cannot be enumerated", name()));
}

void LatentFamily::add_configuration_score(const StochasticNode&, Index, std::uint64_t, double, NodeGradient&) const {
  throw std::logic_error(fmt::format("{} latents cannot be enumerated", name()));
}

}  // namespace gradest
