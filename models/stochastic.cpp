#include "models/stochastic.hpp"

#include <stdexcept>

#include "models/latent_family.hpp"

namespace gradest {

std::string_view to_string(LatentKind kind) {
  switch (kind) {
    case LatentKind::gaussian:
      return "gaussian";
    case LatentKind::bernoulli:
      return "bernoulli";
    case LatentKind::categorical:
      return "categorical";
  }
  return "?";
}

namespace {
const LatentFamily& family_of(const StochasticNode& node) {
  if (!node.family) throw std::logic_error("a stochastic node was used before its latent family was set");
  return *node.family;
}
}  // namespace

LatentKind StochasticNode::kind() const { return family_of(*this).kind(); }
Index StochasticNode::batch() const { return family_of(*this).batch(*this); }
Index StochasticNode::dim() const { return family_of(*this).dim(*this); }

void NodeGradient::reset_like(const StochasticNode& node) { family_of(node).reset_gradient(node, *this); }

}  // namespace gradest
