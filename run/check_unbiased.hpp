#pragma once
// The unbiasedness check of one estimator on a small instance of a model (gradest check-unbiased and
// the unbiasedness regression suite, tests/test_unbiased.cpp).
//
// Models:
//   bernoulli-vae: probe::make_small_instance (k <= 8 latents, MLP 10-6-k / k-6-10, tanh, `batch` random
//                  binary points); exact gradient of every parameter by enumeration.
//   gaussian-vae:  the same with d <= 2 Gaussian latents; exact gradient by Gauss-Hermite quadrature.
//   categorical-vae: the same with k <= 8 categorical latents of C = 3 values (decoder input 3k
//                  one-hot columns); exact gradient by enumerating the 3^k configurations.
//   x2:            q = N(phi_j, 1) with phi = (2, -1, 0.5, ...) (`latents` coordinates), f(z) = sum z^2;
//                  exact node gradient d/dmu = 2 phi, d/dlog_var = exp(log_var) = 1.
//   toy-bernoulli: q = prod Bern(sigmoid(theta_j)), theta = (0.5, -0.3, 1.2, ...), f = sum (b_j - 0.45)^2;
//                  exact node gradient sigmoid'(theta) ((1 - t)^2 - t^2).
//   toy-categorical: k latents Cat(softmax(theta_j)) of C = 3 values, theta_jc = a_j c + 0.2 b_{(j+c) mod 8}
//                  (a = the theta above, b = the phi above), f = sum_j (v . z_j - 0.45)^2, v_c = c/(C-1)
//                  (models/toy_categorical.hpp); exact node gradient p_j (f - E f) per latent.
//   The VAEs test the per-example gradient of the whole model (run/probe.hpp: the ELBO with
//   analytic KL, or the K-sample bound with K = samples for importance-bound estimators); the toys
//   test the node gradient returned by the estimator (ELBO estimators only: toys have no bound).
// Test: R draws, z_i = (mean_i - exact_i) / se_i for every coordinate, rejected when max |z_i| exceeds
// the two-sided Bonferroni threshold for family-wise level alpha (probe::unbiasedness_test).
// Draw r uses stream (seed, "probe", 0, estimator label, r) for the VAEs and
// (seed, "check-toy", estimator label, r) for the toys.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "estimators/estimator.hpp"
#include "run/probe.hpp"

namespace gradest::probe {

enum class CheckModel { bernoulli_vae, gaussian_vae, x2, toy_bernoulli, categorical_vae, toy_categorical };
std::optional<CheckModel> parse_check_model(std::string_view name);
std::string_view to_string(CheckModel model);
inline constexpr std::string_view kCheckModelNames =
    "bernoulli-vae, gaussian-vae, categorical-vae, x2, toy-bernoulli, toy-categorical";
LatentKind latent_kind(CheckModel model);

struct CheckSpec {
  CheckModel model = CheckModel::bernoulli_vae;
  std::string estimator;
  EstimatorOptions options;       // samples: S, or K for importance-bound estimators
  int latents = 0;                // 0 = default: 3 (bernoulli-vae, categorical-vae), 1 (gaussian-vae), 2 (toys)
  int batch = 3;                  // data points (VAEs)
  std::int64_t draws = 20000;
  double alpha = 1e-4;
  std::uint64_t seed = 1;
  bool keep_draws = false;        // CheckResult::draws
};

struct CheckResult {
  UnbiasednessResult test;
  std::string reference;          // how the exact gradient was computed
  double seconds = 0;
  // The vectors behind the test (P checked coordinates: the model's flat parameters, or a toy's node
  // gradient), per example: the draws' mean and variance (divisor R - 1), the exact gradient, and
  // with CheckSpec::keep_draws every draw (R x P, float32). The layout: named ranges of the P.
  VectorD mean, variance, exact;
  RowMatrixF draws;
  std::vector<std::string> group_names;
  std::vector<std::int64_t> group_offset, group_size;
};

// Throws ConfigError for an unknown or incompatible estimator, latents out of range, an
// importance-bound estimator on a toy or with k*K beyond the exact reference's reach.
CheckResult check_unbiased(const CheckSpec& spec);

}  // namespace gradest::probe
