#include "models/stochastic.hpp"

namespace gradest {

std::string_view to_string(LatentKind kind) {
  return kind == LatentKind::bernoulli ? "bernoulli" : "gaussian";
}

void NodeGradient::reset_like(const StochasticNode& node) {
  if (node.kind == LatentKind::bernoulli) {
    d_logits.setZero(node.logits.rows(), node.logits.cols());
    d_mean.resize(0, 0);
    d_log_var.resize(0, 0);
  } else {
    d_logits.resize(0, 0);
    d_mean.setZero(node.mean.rows(), node.mean.cols());
    d_log_var.setZero(node.log_var.rows(), node.log_var.cols());
  }
}

}  // namespace gradest
