#pragma once
// unordered-set: the unordered set estimator with its built-in baseline (Kool, van Hoof and
// Welling, "Estimating gradients for discrete random variables by sampling without replacement",
// ICLR 2020, eqs. 10-11), over the JOINT configuration space of the k latents.
//
// Sampling:  S distinct configurations s_1..s_S of the k latents without replacement from
//            p(s) = prod_j q_j(s_j), by stochastic beam search (Kool, van Hoof and Welling, ICML
//            2019): Gumbel-top-S of the perturbed joint log-probabilities, built latent by latent
//            (each partial configuration carries the maximum of its completions' perturbed
//            log-probabilities; children's Gumbels are drawn conditioned on that maximum). For a
//            factorised q this is an exact sample without replacement, whatever C^k is.
// Target:    E_q[f(z)], UNBIASED (the paper's theorems; checked here against enumeration):
//              g = sum_i p_i R_i grad log p(s_i) (f_i - b_i),
//              b_i = p_i f_i + sum_{j != i} p_j R^{D \ s_i}_j f_j,
//            R_i = p^{D\s_i}(S \ s_i) / p(S), R^{D\s_i}_j = p^{D\{s_i,s_j}}(S \ {s_i,s_j}) / p^{D\s_i}(S \ s_i),
//            where p^{D'}(T) is the probability of drawing the unordered set T without replacement
//            from p restricted (renormalised) to the domain D'. The objective's own parameters get
//            sum_i p_i R_i grad_theta f(s_i) (the unordered set estimator of E_q[grad_theta f]).
// Computed:  with A(T; m) = sum over orderings t_1..t_n of T of prod_l 1 / (1 - m - p(t_1..t_{l-1}))
//            (the product of p over T factored out): p_i R_i = A1_i / sum_l A1_l and
//            p_j R^{D\s_i}_j = A2_ij / A1_i, A1_i = A(S \ s_i; p_i), A2_ij = A(S \ {s_i, s_j}; p_i + p_j).
//            One dynamic programme over the subsets U of S gives them all: G[S] = 1,
//            G[U] = (1 / r(U)) sum_{x not in U} G[U + x], r(U) = p(S \ U) + (1 - p(S)) the mass left
//            once U is drawn; A1_i = G[{s_i}], A2_ij = G[{s_i, s_j}]. Both sets of weights sum to 1.
//            r(U) is a sum of positive terms (never 1 - p(U) by cancellation), so it is never below
//            the smallest p_i in S, with relative rounding error at most ~S eps / min_i p_i. Sums in
//            long double (x86-64: exponent range 1e+-4932): when one configuration holds all but
//            ~1e-40 of the mass the S - 2 factors 1 / r are each ~1e40 and would overflow a double.
// Latents:   categorical, Bernoulli (any family that answers one latent at a time).
// Cost:      S objective evaluations (one backward pass) per data point; the search draws at most
//            S*k*C Gumbels; the weights take O(S 2^S) operations per data point (S = 12: ~50,000).
// Limits:    2 <= S <= 12 (the registry refuses more); S <= C^k, the number of configurations
//            (ConfigError otherwise). With S = C^k every configuration is in the set and the
//            estimate is the exact gradient. A configuration with p = 0 exactly (log-probabilities
//            below ~-745) would get a 0/0 weight: not guarded.
// Options:   samples S, 2..12 (the shared default 1 is refused, as for reinforce-loo: give --samples).
#include <vector>

#include "estimators/estimator.hpp"

namespace gradest {

class UnorderedSet final : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  explicit UnorderedSet(EstimatorOptions options) : Estimator(std::move(options)) {}
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) override;

  // The weights of one data point's set from the joint probabilities p (S entries, double):
  // set_weight_i = p_i R_i and baseline_weight(i, j) = p_j R^{D\s_i}_j (baseline_weight(i, i) = p_i).
  static void weights(const std::vector<double>& p, std::vector<double>& set_weight, MatrixD& baseline_weight);

 private:
  Matrix z_;
  MatrixD log_q_, baseline_weight_;
  Vector value_, weight_, score_weight_;
  std::vector<double> log_p_, p_, set_weight_;
};

}  // namespace gradest
