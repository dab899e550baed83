#include "run/toy_bernoulli.hpp"
#include "models/latent_family.hpp"

#include <string_view>

#include "estimators/gumbel_softmax.hpp"
#include "estimators/double_cv.hpp"
#include "estimators/rebar.hpp"
#include "estimators/relax.hpp"
#include "estimators/reinforce_ma.hpp"

namespace gradest {

StochasticNode toy_bernoulli_node(double theta) {
  StochasticNode node;
  node.family = &latent_family(LatentKind::bernoulli);
  node.logits = Matrix::Constant(1, 1, Real(theta));
  return node;
}

void toy_bernoulli_adapt(Estimator& estimator, ToyBernoulli& toy, double theta, std::int64_t steps, Rng& rng) {
  const StochasticNode node = toy_bernoulli_node(theta);
  NodeGradient grad;
  for (std::int64_t step = 0; step < steps; ++step) {
    grad.reset_like(node);
    estimator.estimate(node, toy, rng, grad);
    estimator.learn(rng);
  }
}

std::vector<double> toy_bernoulli_draws(Estimator& estimator, ToyBernoulli& toy, double theta, std::int64_t repeats,
                                        Rng& rng) {
  const StochasticNode node = toy_bernoulli_node(theta);
  NodeGradient grad;
  std::vector<double> draws(static_cast<std::size_t>(repeats));
  for (auto& draw : draws) {
    grad.reset_like(node);
    estimator.estimate(node, toy, rng, grad);
    draw = grad.d_logits(0, 0);
  }
  return draws;
}

std::optional<ToyMoments> toy_bernoulli_exact_moments(const Estimator& estimator, const ToyBernoulli& toy,
                                                      double theta) {
  namespace tb = toy_bernoulli;
  const std::string_view name = estimator.info().name;
  const int S = estimator.options().samples;
  if (name == "reinforce") return tb::score_function(toy, theta, S, 0.0);
  if (name == "reinforce-ma") {
    const auto* ma = dynamic_cast<const ReinforceMA*>(&estimator);
    return ma ? std::optional(tb::score_function(toy, theta, S, ma->baseline())) : std::nullopt;
  }
  if (name == "reinforce-loo") return tb::leave_one_out(toy, theta, S);
  if (name == "reinforce-self-baseline") return tb::self_baseline(toy, theta, S);
  if (name == "arm") return tb::arm(toy, theta, S);
  if (name == "disarm") return tb::disarm(toy, theta, S);
  if (name == "arms") return tb::arms(toy, theta, S);
  if (name == "gumbel-softmax") return tb::gumbel_softmax(toy, theta, S, estimator.options().real(GumbelSoftmax::kTemperature));
  if (name == "straight-through") return tb::straight_through(toy, theta, S);
  if (name == "rebar") {
    const auto* rebar = dynamic_cast<const Rebar*>(&estimator);
    return rebar ? std::optional(tb::rebar(toy, theta, S, rebar->temperature(), rebar->scale())) : std::nullopt;
  }
  if (name == "relax") {
    // The surrogate as it stands (r = 0 before the first learn()); one latent, no data.
    const auto* relax = dynamic_cast<const Relax*>(&estimator);
    if (!relax || estimator.options().boolean(Relax::kData)) return std::nullopt;
    const tb::ToySurrogate surrogate{[relax](double z) { return relax->surrogate_value(z, nullptr); },
                                 [relax](double z) {
                                   double slope = 0;
                                   relax->surrogate_value(z, &slope);
                                   return slope;
                                 }};
    return tb::relax(toy, theta, S, relax->temperature(), relax->scale(), surrogate);
  }
  if (name == "double-cv") {
    const auto* dcv = dynamic_cast<const DoubleCV*>(&estimator);
    return dcv ? std::optional(tb::double_cv(toy, theta, S, dcv->scale())) : std::nullopt;
  }
  if (name == "exact") return ToyMoments{toy.exact_gradient(theta), 0.0};
  return std::nullopt;
}

}  // namespace gradest
