#pragma once
// The openings the sampling estimators share: not estimators themselves.
//
// Every estimator whose samples z are distributed as q (all but the relaxations' decoder inputs)
// gives the objective's own parameters (decoder, prior) the same plain Monte Carlo gradient,
// (1/n) sum over a data point's n rows of grad_theta f(x, z_r). `evaluate_with_plain_gradient`
// does that after evaluating f; `ScoreSamples::draw` adds the S draws from q in front of it (the
// opening of every score-function estimator); `draw_antithetic_pairs` builds ARM/DisARM's pairs.
#include "estimators/estimator.hpp"

namespace gradest {

// value_r = f(x_{r mod B}, z_r) (objective slot 0), then objective.backward(0, 1/rows_per_point,
// grad_z). `weight` is scratch, left holding 1/rows_per_point.
void evaluate_with_plain_gradient(Objective& objective, const Matrix& z, int rows_per_point, Vector& value,
                                  Vector& weight, Matrix* grad_z);

// S samples per data point from q, f at each, and the objective's plain gradient.
struct ScoreSamples {
  Matrix z, noise;  // S*B x k, sample-major (row s*B + b)
  Vector value;     // f at each row
  Vector weight;    // the learning signal per row, for accumulate_score (set by the estimator)

  void draw(const StochasticNode& node, Objective& objective, int samples, Rng& rng);
  // weight_r = (f_r - mean of f over the S rows of r's data point) / divisor.
  void centre_per_point(Index batch, double divisor);
};

// u ~ U(0,1)^(S*B x k) and the antithetic pairs of Bernoulli(sigmoid(logits)) samples it gives:
// rows [0, SB) of z hold b = 1[u < p], rows [SB, 2SB) hold b~ = 1[1 - u < p] (both ~ q).
void draw_antithetic_pairs(const StochasticNode& node, int samples, Rng& rng, Matrix& u, Matrix& z);

}  // namespace gradest
