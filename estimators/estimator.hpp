#pragma once
// The estimator strategy interface and its registry.
//
// An estimator, given a batched stochastic node q(z | params), an objective f and a generator,
// adds to a NodeGradient an estimate of the gradient, with respect to the node's parameters, of
// the quantity it targets (see models/stochastic.hpp for the row layout and sign conventions):
// - Target::expectation:      sum_b E_{q(z|x_b)}[ f(x_b, z) ]                (ELBO estimators)
// - Target::importance_bound: sum_b E[ log (1/K) sum_k exp(f(x_b, z_k) - log q(z_k | x_b)) ]
// and, through Objective::backward, the plain Monte Carlo gradient of the same quantity with
// respect to the objective's own parameters (decoder, prior). The caller back-propagates the
// NodeGradient into the network that produced the node.
//
// Adding an estimator: its own estimators/<name>.hpp/.cpp (the header states the mathematics and
// declares the options it reads, estimators/options.hpp), one line in estimators/registry.cpp, and
// its tests.
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "estimators/options.hpp"
#include "models/rng.hpp"
#include "models/stochastic.hpp"

namespace gradest {

enum class Target { expectation, importance_bound };
std::string_view to_string(Target target);

// What `gradest list` prints, and what the command line checks before it builds anything.
struct EstimatorInfo {
  std::string_view name;           // as the command line takes it
  std::string_view summary;        // one line, with the reference
  std::string_view formula;        // one line
  Target target = Target::expectation;
  bool unbiased = true;
  LatentKinds families = {};       // the latent families it accepts
  bool needs_dz = false;           // needs df/dz (Objective::differentiable_in_z)
  int min_samples = 1;
  int max_samples = std::numeric_limits<int>::max();  // more is refused (unordered-set's exact set probabilities)
  std::string_view cost;           // objective evaluations per data point, e.g. "S", "2", "2^k"
  bool accepts(LatentKind kind) const { return families.contains(kind); }
};

// Diagnostics of learned baselines and control variates (NaN where not applicable).
struct EstimatorDiagnostics {
  double baseline_loss = std::numeric_limits<double>::quiet_NaN();
  double explained_variance = std::numeric_limits<double>::quiet_NaN();  // 1 - Var(signal - b)/Var(signal)
  double temperature = std::numeric_limits<double>::quiet_NaN();  // rebar: the relaxation's lambda
  double scale = std::numeric_limits<double>::quiet_NaN();        // rebar: the control variate's eta
};

class Estimator {
 public:
  virtual ~Estimator() = default;
  virtual const EstimatorInfo& info() const = 0;
  const EstimatorOptions& options() const { return options_; }

  // Adds the estimate to `grad` (shaped like node, see NodeGradient::reset_like). Does not change
  // what later estimates will be (a probe may call it any number of times at frozen parameters);
  // it may keep scratch data for learn().
  virtual void estimate(const StochasticNode& node, Objective& objective, Rng& rng, NodeGradient& grad) = 0;
  // Called by the trainer once per training step, after estimate(): estimators with state
  // (moving-average or learned baselines) update it here from what the last estimate saw.
  virtual void learn(Rng& /*rng*/) {}
  virtual EstimatorDiagnostics diagnostics() const { return {}; }

 protected:
  explicit Estimator(EstimatorOptions options) : options_(std::move(options)) {}
  EstimatorOptions options_;
};

struct EstimatorEntry {
  const EstimatorInfo* info;
  std::unique_ptr<Estimator> (*make)(const EstimatorOptions&);
  std::span<const OptionSpec> options = {};  // what it declares besides samples (its header's kOptions)
};

// Every estimator, in the order `gradest list` prints them.
std::span<const EstimatorEntry> estimator_registry();
// nullptr if no estimator has that name.
const EstimatorEntry* find_estimator(std::string_view name);
// Comma-separated names of all estimators, or of those accepting `kind`.
std::string estimator_names();
std::string estimator_names(LatentKind kind);
// Builds a checked estimator: an unknown name, an incompatible latent kind, too few samples or
// invalid options give nullptr and a one-line `error` naming the allowed values.
std::unique_ptr<Estimator> make_estimator(std::string_view name, const EstimatorOptions& options,
                                          LatentKind kind, std::string* error);
// The same checks for an entry that need not be registered (tests).
std::unique_ptr<Estimator> make_estimator(const EstimatorEntry& entry, const EstimatorOptions& options,
                                          LatentKind kind, std::string* error);

// An estimator's options: samples, then what its entry declares.
std::vector<const OptionSpec*> options_of(const EstimatorEntry& entry);

// One estimator option as a registry declares it, once however many estimators declare it: the
// first declaration (every other declaration of the name agrees in type, default and range), and
// the estimators that declare it.
struct DeclaredOption {
  const OptionSpec* spec;
  std::vector<std::string_view> estimators;
  // Recorded before estimators declared their options (samples ... baseline-normalise): config
  // texts and run ids always hold these. Later options enter them only for the estimators that
  // declare them, so adding an estimator option changes no earlier run's id.
  bool recorded = false;
};
// Every option of the registered estimators: samples first, then the options that were recorded
// before estimators declared them, in the order config texts and run ids hash them, then later
// options in registry order. The training keys, sweep configs and the toy read this list.
std::span<const DeclaredOption> declared_options();
// The same for any list of entries (tests with an unregistered estimator). Throws std::logic_error
// if two declarations of one name disagree or an estimator declares `samples` itself.
std::vector<DeclaredOption> declared_options(std::span<const EstimatorEntry> entries);

}  // namespace gradest
