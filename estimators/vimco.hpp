#pragma once
// vimco: the K-sample importance-weighted bound for discrete latents with per-sample leave-one-out
// baselines (Mnih and Rezende 2016, "Variational inference for Monte Carlo objectives").
//
// Target:   the K-sample bound E[ log (1/K) sum_k w_k ],  log w_k = f(z_k) - log q(z_k),
//           z_1..K ~ q iid (Target::importance_bound); UNBIASED for its gradient. The objective's
//           terms must be joint (f = log p(x, z)); estimate() throws std::invalid_argument otherwise.
// Formula:  L = log (1/K) sum_k w_k,  wn_k = w_k / sum_j w_j,
//           L_{-k} = log (1/K) ( sum_{j != k} w_j + exp( (1/(K-1)) sum_{j != k} log w_j ) )
//           (the paper's GEOMETRIC-mean replacement of w_k),
//           d/dtheta_q:  sum_k [ (L - L_{-k}) - wn_k ] * d log q(z_k)/d theta
//           d/dtheta_p:  sum_k wn_k * grad f(z_k)   (via Objective::backward)
// Latents:  Bernoulli and categorical (the score terms apply to any kind; Gaussian latents use iwae/dreg).
// Cost:     K samples, K objective evaluations per data point; K = samples >= 2.
// Options:  samples K.
#include "estimators/estimator.hpp"

namespace gradest {

class Vimco final : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  explicit Vimco(EstimatorOptions options) : Estimator(std::move(options)) {}
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override;

 private:
  Matrix z_, noise_;
  Vector value_, log_q_, node_weight_, objective_weight_;
};

}  // namespace gradest
