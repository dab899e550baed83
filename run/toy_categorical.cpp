#include "run/toy_categorical.hpp"

#include <string_view>

#include "estimators/reinforce_ma.hpp"
#include "models/latent_family.hpp"

namespace gradest {

StochasticNode toy_categorical_node(const VectorD& theta) {
  StochasticNode node;
  node.family = &latent_family(LatentKind::categorical, int(theta.size()));
  node.logits = theta.transpose().cast<Real>();
  return node;
}

MatrixD toy_categorical_draws(Estimator& estimator, ToyCategorical& toy, const VectorD& theta, std::int64_t repeats,
                              Rng& rng) {
  const StochasticNode node = toy_categorical_node(theta);
  NodeGradient grad;
  MatrixD draws(repeats, theta.size());
  for (std::int64_t r = 0; r < repeats; ++r) {
    grad.reset_like(node);
    estimator.estimate(node, toy, rng, grad);
    draws.row(r) = grad.d_logits.row(0).cast<double>();
  }
  return draws;
}

std::optional<ToyMomentsC> toy_categorical_exact_moments(const Estimator& estimator, const ToyCategorical& toy,
                                                         const VectorD& theta) {
  namespace tc = toy_categorical;
  const std::string_view name = estimator.info().name;
  const int S = estimator.options().samples;
  if (name == "reinforce") return tc::score_function(toy, theta, S, 0.0);
  if (name == "reinforce-ma") {
    const auto* ma = dynamic_cast<const ReinforceMA*>(&estimator);
    return ma ? std::optional(tc::score_function(toy, theta, S, ma->baseline())) : std::nullopt;
  }
  if (name == "reinforce-loo") return tc::leave_one_out(toy, theta, S);
  if (name == "reinforce-self-baseline") return tc::self_baseline(toy, theta, S);
  if (name == "indecater") return tc::indecater(toy, theta);
  if (name == "straight-through") return tc::straight_through(toy, theta, S);
  if (name == "unordered-set") return tc::unordered_set(toy, theta, S);
  if (name == "exact") return ToyMomentsC{toy.exact_gradient(theta), VectorD::Zero(theta.size())};
  return std::nullopt;
}

}  // namespace gradest
