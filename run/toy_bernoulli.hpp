#pragma once
// The Bernoulli toy (models/toy_bernoulli.hpp) driven through registered estimators: draws of the
// 1-d gradient estimate, and the exact moments of each estimator's estimate (for the estimators
// whose formula the toy knows), used by `gradest toy-bernoulli` and the tests.
#include <cstdint>
#include <optional>
#include <vector>

#include "estimators/estimator.hpp"
#include "models/toy_bernoulli.hpp"

namespace gradest {

// The node of the 1-d toy: one data point, one Bernoulli latent with logit theta.
StochasticNode toy_bernoulli_node(double theta);

// `steps` training-step pairs of estimate() and learn() at theta, theta held fixed: stateful
// estimators (moving-average baselines, adapted control variates) adapt; the others do not change.
void toy_bernoulli_adapt(Estimator& estimator, ToyBernoulli& toy, double theta, std::int64_t steps, Rng& rng);

// `repeats` independent estimates of d/dtheta E[(b - t)^2] at theta (estimate() only, no learn()).
std::vector<double> toy_bernoulli_draws(Estimator& estimator, ToyBernoulli& toy, double theta, std::int64_t repeats,
                                        Rng& rng);

// Exact mean and variance of one estimate by `estimator` (with its samples and options; reinforce-ma
// with its current baseline) at theta; nullopt for estimators whose formula the toy does not know.
std::optional<ToyMoments> toy_bernoulli_exact_moments(const Estimator& estimator, const ToyBernoulli& toy,
                                                      double theta);

}  // namespace gradest
