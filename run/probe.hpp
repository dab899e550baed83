#pragma once
// The gradient probe: the variance, signal-to-noise ratio, bias and cost of gradient estimators at
// frozen parameters, and the unbiasedness z-test built on it.
//
// One estimate (exactly one training step's gradient, without the optimiser; run/train.hpp):
//   node <- q(z|x);  ELBO estimators (Target::expectation): estimate(node, log p(x|z)) and the
//   analytic KL at beta = 1 (no annealing, no free bits: the ELBO itself);  importance-bound
//   estimators: estimate(node, log p(x, z)), no KL;  encoder gradient by back-propagation;
//   g = vae.gradient() / B.
// NORMALISATION: every figure is of the PER-EXAMPLE gradient g = (gradient of the batch SUM) / B, B
// the evaluation minibatch's size (the gradient the optimiser sees). Variances of batch-summed
// gradients are B^2 times larger; of single-example gradients, about B times larger.
//
// Draw r (0 .. R-1) of estimator label E at probe step t uses stream
//   Rng::stream(seed, {stable_hash("probe"), t, stable_hash(E), r}),
// so draws are independent across estimators, steps and draws, and reproducible in any order.
// Moments per parameter by Welford's algorithm in double: mean m_i and unbiased variance v_i.
//
// Per parameter group G (encoder, decoder, prior; the learned baselines of estimators live
// outside the model and are not probed):
//   trace_G    = sum_{i in G} v_i                   (trace of the covariance of one estimate)
//   mean_var_G = trace_G / |G|
//   snr_G      = mean over i in G with v_i > 0 of |m_i| / sqrt(v_i)   (Rainforth et al. 2018)
// With an exact gradient e (models/exact_reference.hpp, same normalisation):
//   bias_norm_G = ||m - e||_G  (includes Monte Carlo noise: its expectation under no bias is
//                 sqrt(trace_G / R))
//   max_abs_z_G = max_i |m_i - e_i| / se_i,  se_i = max(sqrt(v_i / R), floor_i),
//                 floor_i = kNumericalFloor(Real) * max(1, |e_i|): float round-off of mean and
//                 reference, so deterministic coordinates (v_i = 0, e.g. the prior under an ELBO
//                 estimator) are judged by their numerical agreement
//   mse_G       = ||m - e||_G^2 + trace_G   (mean squared error of one estimate)
// Cost: evals_per_estimate = objective evaluations per data point per estimate
// (Objective::evaluations / B), seconds_per_estimate (wall time of one minibatch estimate), and
// variance x cost: trace_G * evals_per_estimate.
//
// HDF5 (VarianceWriter), under a run group: variance/<label>/ with attributes estimator, samples,
// target, draws, batch, normalisation, exact_reference (a description, or why there is none), and
// one-dimensional float64 series extended per probe and flushed:
//   step, trace_<G>, mean_var_<G>, snr_<G> for G in encoder, decoder, prior (NaN where the model
//   has no such group), bias_norm, max_abs_z (all groups; NaN without an exact gradient),
//   bias_norm_<G>, max_abs_z_<G>, mse_<G>, evals_per_estimate, seconds_per_estimate,
//   trace_x_evals_encoder, trace_x_evals_decoder.
#include <H5Cpp.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "estimators/estimator.hpp"
#include "store/data.hpp"
#include "store/h5io.hpp"
#include "models/exact_reference.hpp"
#include "models/small_instance.hpp"
#include "models/vae.hpp"


namespace gradest::train {
struct StepContext;
struct TrainConfig;
struct TrainHooks;
}  // namespace gradest::train

namespace gradest::probe {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Relative numerical floor of a standard error (see the header comment).
inline constexpr double kNumericalFloor = sizeof(Real) == 4 ? 1e-5 : 1e-11;
// The groups reported, in order.
inline constexpr std::string_view kGroups[] = {"encoder", "decoder", "prior"};

// One estimator of a basket: "name" or "name:S" (S samples; default: the training run's samples if
// the estimator accepts them, else its minimum).
struct BasketEntry {
  std::string label;    // the HDF5 group name: name, or name-S<S> when S was given
  std::string name;
  EstimatorOptions options;
};
// Parses "a,b:4,c" (throws ConfigError naming an unknown or incompatible estimator, a bad S,
// or a duplicate label, with the allowed names).
std::vector<BasketEntry> parse_basket(std::string_view text, LatentKind kind, const EstimatorOptions& defaults);

struct ProbeOptions {
  std::int64_t draws = 1000;   // R >= 2
  std::uint64_t seed = 1;
  bool exact = true;           // compute the exact reference where one exists
  bool vectors = false;        // keep the gradient vectors behind the summaries (ProbeSummary::vectors)
  bool raw_draws = false;      // ... and every draw (R x P; needs vectors)
  bool valid(std::string* error) const;
};

// Welford moments of a flat vector, in double.
class GradientMoments {
 public:
  // Adds the draw scale * g (the probe passes the batch-sum gradient and 1/B), rounded to Real as a
  // stored gradient would be.
  void add(const Vector& g, Real scale = 1);
  // The same without copying g: its storage is swapped into the block, and g is left holding a vector
  // of the same size with unspecified contents (the probe's next draw overwrites it).
  void take(Vector& g, Real scale = 1);
  std::int64_t count() const { return n_ + pending_count_; }
  const VectorD& mean() const;
  VectorD variance() const;  // unbiased (divided by n - 1)

 private:
  // Draws are kept up to kMaxBlock at a time and folded into the running moments together (Chan et
  // al.'s pairwise update: the block's own mean and sum of squares, then one combination with the
  // running ones), so the double-precision mean and sum of squares (16 bytes a coordinate) are read
  // and written once per block rather than once per draw: the update was a sixth of a probe draw.
  // The block holds at most kBlockBytes of draws (fewer draws for large models; one, the plain
  // per-draw update, beyond 16 MB a draw).
  static constexpr int kMaxBlock = 8;
  static constexpr Index kBlockBytes = Index(16) << 20;
  void start(Index size);
  void pushed();
  void flush() const;
  int block_ = 1;
  mutable std::int64_t n_ = 0;
  mutable VectorD mean_, m2_;
  mutable std::vector<Vector> pending_;     // the draws not yet folded in (raw)
  mutable std::vector<Real> pending_scale_;  // and their scales
  mutable int pending_count_ = 0;
};

struct DrawResult {
  GradientMoments moments;
  RowMatrixF draws;                    // R x P per-example draws, when asked (float32, as stored)
  double evals_per_estimate = 0;    // per data point
  double seconds_per_estimate = 0;
};

// R estimates of the per-example gradient at frozen parameters (see the header comment). The
// Vae's parameters are not changed; its gradient() is restored.
// With keep_draws, DrawResult::draws holds every draw (row r = draw r, the moments' input rounded to
// float32).
DrawResult draw_estimates(Vae& vae, const Matrix& x, Estimator& estimator, std::int64_t draws, std::uint64_t seed,
                          std::int64_t step, std::string_view label, bool keep_draws = false);

struct GroupSummary {
  std::string name;
  Index size = 0;
  double trace = kNaN, mean_var = kNaN, snr = kNaN;
  double bias_norm = kNaN, max_abs_z = kNaN, mse = kNaN;
  Index max_z_index = -1;  // flat parameter index of the largest |z|
};

struct ProbeSummary {
  std::string label, estimator;
  int samples = 1;
  Target target = Target::expectation;
  std::int64_t step = 0, draws = 0, batch = 0;
  std::vector<GroupSummary> groups;  // one per kGroups entry (size 0 where absent)
  double bias_norm = kNaN, max_abs_z = kNaN;
  double evals_per_estimate = kNaN, seconds_per_estimate = kNaN;
  std::string exact_reference;       // how the exact gradient was obtained, or why not
  // With ProbeOptions::vectors: the per-example gradient vectors behind the figures (P entries, the
  // model's flat parameter order): the draws' mean and variance, and the exact gradient (empty when
  // there is none).
  struct Vectors {
    VectorD mean, variance, exact;
    RowMatrixF draws;  // R x P with ProbeOptions::raw_draws, else empty
  };
  Vectors vectors;
  const GroupSummary* group(std::string_view name) const;
};

// Statistics of draws against an optional exact per-example gradient.
ProbeSummary summarise(const Parameters& parameters, const DrawResult& draws, const VectorD* exact);

// The exact per-example gradient of the objective `estimator_info` targets (ELBO, or the K-sample
// bound with K = options.samples), when the model admits one: nullopt with `why` otherwise
// (including a refused quadrature).
std::optional<VectorD> exact_per_example(Vae& vae, const Matrix& x, const EstimatorInfo& info,
                                         const EstimatorOptions& options, std::string* why);

// Probes every basket entry at the current parameters; `trained` (may be null) is the training
// run's estimator instance, used for the entry of the same name and samples (so a stateful
// baseline is probed in its trained state; other stateful entries are probed in their initial state).
std::vector<ProbeSummary> run_probe(Vae& vae, const Matrix& x, const std::vector<BasketEntry>& basket,
                                    const ProbeOptions& options, std::int64_t step, Estimator* trained = nullptr);

// Appends summaries to <run_group>/variance/<label>/ (created on first use) and flushes.
class VarianceWriter {
 public:
  explicit VarianceWriter(H5::Group run_group) : run_group_(std::move(run_group)) {}
  void append(const ProbeSummary& summary);

 private:
  H5::Group run_group_;
  std::map<std::string, std::map<std::string, h5::Series>> series_;  // label -> column -> series
};

// One table line per summary (for the terminal).
std::string format_summary(const ProbeSummary& summary);
std::string summary_header();

// The evaluation minibatch of a training configuration: the first `batch` training examples,
// binarized per config from stream (seed, "probe-batch").
Matrix probe_batch(const train::TrainConfig& config, const data::DataSplits& data);

// ---- the basket during training (gradest train --probe-every P --probe-estimators a,b --probe-draws R) ----
struct TrainingProbe {
  std::int64_t every = 0;
  std::vector<BasketEntry> basket;
  ProbeOptions options;
};
// The basket probed every `every` steps with `draws` estimates each; `estimators` is a comma list
// (nullopt: the training estimator). Throws ConfigError on a bad value or basket (before any output).
TrainingProbe make_training_probe(std::int64_t every, std::int64_t draws, const std::optional<std::string>& estimators,
                                  const train::TrainConfig& config);
// Sets hooks.hook_every and hooks.at_step (chaining an existing at_step): at steps 0, P, 2P, ... and the
// last, probes the basket at the trained parameters on probe_batch(), writes variance/<label>/ under
// the run group, and prints a table line per estimator when `print`.
void install_probe(const TrainingProbe& probe, train::TrainHooks& hooks, bool print);

// ---- the unbiasedness test -------------------------------------------------------------------------
// H0: E[g_i] = e_i for every coordinate i. Statistic max_i |z_i| (z as in summarise); rejected when
// it exceeds the two-sided Bonferroni threshold z_{1 - alpha / (2m)}, m the number of coordinates:
// the family-wise level is at most alpha (asymptotically in R).
struct UnbiasednessResult {
  double alpha = 0, threshold = 0, max_abs_z = 0;
  Index coordinates = 0;
  bool passed = false;
  std::vector<GroupSummary> groups;
};
UnbiasednessResult unbiasedness_test(const Parameters& parameters, const DrawResult& draws, const VectorD& exact,
                                     double alpha);
double bonferroni_threshold(double alpha, Index coordinates);

// Small instances for check-unbiased and the unbiasedness suite (models/small_instance.hpp).
using gradest::make_small_instance;
using gradest::SmallInstance;

}  // namespace gradest::probe
