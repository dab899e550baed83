#pragma once
// The concrete relaxation of Bernoulli latents and its conditional, shared by rebar
// (estimators/rebar.hpp, Tucker et al. 2017) and relax (estimators/relax.hpp, Grathwohl et al. 2018):
// the draws, the objective's evaluations at the hard and relaxed samples, and the per-coordinate
// control variate eta [-f(s~) (b_j - p_j) + df(s)/dtheta_j - df(s~)/dtheta_j] with its derivative in lambda.
//
// Draws (R = S*B rows, sample-major; q = prod_j Bern(sigmoid(theta_j))):
//   u, v ~ U(0,1)^k;  z = theta + logit u,  b = H(z) (so b ~ q);
//   z~ ~ p(z | b) from v:  b_j = 1: z~_j = softplus(theta_j + log v_j) - log(1 - v_j),
//                          b_j = 0: z~_j = log v_j - softplus(-theta_j + log(1 - v_j));
//   dz~_j/dtheta_j with b held fixed: sigmoid(theta_j + log v_j) (b_j = 1), sigmoid(-theta_j + log(1 - v_j)) (b_j = 0);
//   s = sigmoid(z / lambda), s~ = sigmoid(z~ / lambda).
// Evaluations: f(b) in objective slot 0 with the objective's plain gradient (weight 1/S: the decoder's
//   Monte Carlo gradient), f(s) and f(s~) in slots 1 and 2 with their z-gradients and no parameter
//   gradient (Objective::gradient_in_z); with second_order also ds/dlambda = -s (1 - s) z / lambda^2
//   (and at s~) and the objective's Hessian-vector products along them (Objective::hessian_vector_in_z).
#include "estimators/estimator.hpp"

namespace gradest {

struct ConcreteRelaxation {
  Matrix u, v, b, z, z_tilde, dz_tilde, s, s_tilde;  // R x k
  Vector value_b, value_s, value_s_tilde;            // f at b, s, s~ (R)
  Matrix g_s, g_s_tilde;                             // df/dz at s and at s~ (R x k)
  Matrix direction, hv;                              // 2R x k: rows 0..R-1 at s, R..2R-1 at s~

  // Draws u then v from rng (in that order) and fills z, b, z~, dz~/dtheta, s, s~.
  void draw(const StochasticNode& node, int samples, double lambda, Rng& rng);
  // The evaluations above; false when second_order is asked and the objective gives no second derivatives.
  bool evaluate(Objective& objective, int samples, double lambda, bool second_order);

  // Row r's d f(s~)/d lambda = f'(s~) . ds~/dlambda (second_order only).
  double tilde_along(Index r) const;
  struct Terms {
    double cv = 0;          // -f(s~) score + f'_j(s) s_j(1-s_j)/lambda - f'_j(s~) s~_j(1-s~_j)/lambda dz~_j/dtheta_j
    double dcv_lambda = 0;  // its derivative in lambda (second_order only; tilde_along(r) passed in)
  };
  Terms control_variate(Index r, Index j, double score, double lambda, bool second_order, double tilde_along) const;

 private:
  Vector weight_, ones_;
};

}  // namespace gradest
