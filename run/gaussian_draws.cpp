#include "run/gaussian_draws.hpp"
#include "models/latent_family.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <cmath>
#include <stdexcept>

#include "estimators/estimator.hpp"
#include "models/distributions.hpp"

namespace gradest {

GaussianDraws draw_gaussian_estimates(double mu, double sigma, std::int64_t samples, std::int64_t repeats,
                                      const NodeGradientFn& estimate, Rng& rng) {
  if (samples < 1 || repeats < 1 || !(sigma > 0))
    throw std::invalid_argument("draw_gaussian_estimates: need samples >= 1, repeats >= 1, sigma > 0");
  GaussianDraws draws;
  draws.d_mu.assign(repeats, 0.0);
  draws.d_sigma.assign(repeats, 0.0);
  const double dlog_var_dsigma = 2.0 / sigma;
  StochasticNode node;
  node.family = &latent_family(LatentKind::gaussian);
  NodeGradient grad;
  auto run = [&](std::int64_t first, Index batch, int chunk, double weight) {
    if (node.mean.rows() != batch) {
      node.mean.setConstant(batch, 1, static_cast<Real>(mu));
      node.log_var.setConstant(batch, 1, static_cast<Real>(2.0 * std::log(sigma)));
    }
    grad.reset_like(node);
    estimate(node, chunk, rng, grad);
    for (Index b = 0; b < batch; ++b) {
      draws.d_mu[first + b] += weight * static_cast<double>(grad.d_mean(b, 0));
      draws.d_sigma[first + b] += weight * static_cast<double>(grad.d_log_var(b, 0)) * dlog_var_dsigma;
    }
  };
  // Block of B repeats (at least kMinBatch when there are that many, so per-call and per-sample-row
  // overheads are amortised over B rows), S samples per call, B * S <= kRowsPerCall.
  const std::int64_t batch = std::min<std::int64_t>(
      repeats, std::max<std::int64_t>(kMinBatch, kRowsPerCall / samples));
  const std::int64_t chunk = std::max<std::int64_t>(1, std::min<std::int64_t>(samples, kRowsPerCall / batch));
  for (std::int64_t first = 0; first < repeats; first += batch) {
    const Index b = static_cast<Index>(std::min(batch, repeats - first));
    for (std::int64_t done = 0; done < samples; done += chunk) {
      const std::int64_t s = std::min(chunk, samples - done);
      run(first, b, static_cast<int>(s), static_cast<double>(s) / static_cast<double>(samples));
    }
  }
  return draws;
}

NodeGradientFn registered_estimator(const std::string& name, ObjectiveFactory objective) {
  struct Cache {
    int samples = 0;
    std::unique_ptr<Estimator> estimator;
  };
  auto cache = std::make_shared<Cache>();
  std::string error;
  if (!make_estimator(name, EstimatorOptions{}, LatentKind::gaussian, &error)) throw std::invalid_argument(error);
  return [name, objective = std::move(objective), cache](const StochasticNode& node, int samples, Rng& rng,
                                                         NodeGradient& grad) {
    if (!cache->estimator || cache->samples != samples) {
      EstimatorOptions options;
      options.samples = samples;
      std::string message;
      cache->estimator = make_estimator(name, options, LatentKind::gaussian, &message);
      if (!cache->estimator) throw std::invalid_argument(message);
      cache->samples = samples;
    }
    auto f = objective(node.batch());
    cache->estimator->estimate(node, *f, rng, grad);
  };
}

NodeGradientFn constant_baseline_score_function(double baseline_mean, double baseline_log_var,
                                                ObjectiveFactory objective) {
  struct Scratch {
    Matrix z, eps;
    Vector value, weight;
    NodeGradient part;
  };
  auto scratch = std::make_shared<Scratch>();
  return [=, objective = std::move(objective)](const StochasticNode& node, int samples, Rng& rng, NodeGradient& grad) {
    auto f = objective(node.batch());
    Scratch& s = *scratch;
    sample_node(node, samples, rng, s.z, s.eps);
    f->evaluate(0, s.z, s.value);
    const Real inv_samples = Real(1) / static_cast<Real>(samples);
    // One score accumulation per parameter, each with its own constant.
    s.weight = (s.value.array() - static_cast<Real>(baseline_mean)) * inv_samples;
    s.part.reset_like(node);
    accumulate_score(node, s.z, s.weight, s.part);
    grad.d_mean += s.part.d_mean;
    s.weight = (s.value.array() - static_cast<Real>(baseline_log_var)) * inv_samples;
    s.part.reset_like(node);
    accumulate_score(node, s.z, s.weight, s.part);
    grad.d_log_var += s.part.d_log_var;
  };
}

NodeGradientFn gaussian_toy_estimator(GaussianToyEstimator estimator, const GaussianTestCost& cost,
                                      const GaussianToyExact& exact) {
  ObjectiveFactory objective = [cost](Index batch) { return std::make_unique<GaussianCostObjective>(cost, batch); };
  switch (estimator) {
    case GaussianToyEstimator::score_function: return registered_estimator("reinforce", objective);
    case GaussianToyEstimator::pathwise: return registered_estimator("pathwise", objective);
    case GaussianToyEstimator::measure_valued: return registered_estimator("measure-valued", objective);
    case GaussianToyEstimator::measure_valued_uncoupled: return registered_estimator("measure-valued-uncoupled", objective);
    default:
      // The variance-optimal constant is the same for sigma and log-variance: their scores differ
      // by the constant factor sigma/2.
      return constant_baseline_score_function(exact.baseline(estimator, GaussianParameter::mu),
                                              exact.baseline(estimator, GaussianParameter::sigma), objective);
  }
}

void for_each_cell(std::size_t cells, int threads, const std::function<void(std::size_t)>& cell) {
  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  std::mutex mutex;
  auto work = [&] {
    for (std::size_t i; (i = next++) < cells;) {
      try {
        cell(i);
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!failure) failure = std::current_exception();
        next = cells;
      }
    }
  };
  const std::size_t n = std::min<std::size_t>(std::max(threads, 1), cells);
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < n; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

SampleMoments sample_moments(const std::vector<double>& values) {
  if (values.size() < 2) throw std::invalid_argument("sample_moments: need at least 2 values");
  const double n = static_cast<double>(values.size());
  SampleMoments m;
  for (double v : values) m.mean += v;
  m.mean /= n;
  for (double v : values) m.variance += (v - m.mean) * (v - m.mean);
  m.variance /= n - 1.0;
  return m;
}

}  // namespace gradest
