#pragma once
// The categorical toy (models/toy_categorical.hpp) driven through registered estimators: draws of the
// C-vector gradient estimate, and the exact moments of each estimator's estimate (for the estimators
// whose formula the toy knows), used by `gradest toy-categorical` and the tests.
#include <cstdint>
#include <optional>

#include "estimators/estimator.hpp"
#include "models/toy_categorical.hpp"

namespace gradest {

// The node of the toy: one data point, one categorical latent with logits theta (C entries).
StochasticNode toy_categorical_node(const VectorD& theta);

// `repeats` independent estimates of d/dtheta E[f] at theta (estimate() only, no learn()), one per row
// (repeats x C).
MatrixD toy_categorical_draws(Estimator& estimator, ToyCategorical& toy, const VectorD& theta, std::int64_t repeats,
                              Rng& rng);

// Exact per-coordinate mean and variance of one estimate by `estimator` (with its samples; reinforce-ma
// with its current baseline) at theta; nullopt for estimators whose formula the toy does not know.
std::optional<ToyMomentsC> toy_categorical_exact_moments(const Estimator& estimator, const ToyCategorical& toy,
                                                         const VectorD& theta);

}  // namespace gradest
