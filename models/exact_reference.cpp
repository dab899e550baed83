#include "models/exact_reference.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "models/enumerate.hpp"
#include "models/network.hpp"
#include "models/quadrature.hpp"
#include "models/vae_gradient.hpp"

namespace gradest {
namespace {

constexpr int kMaxQuadratureDims = 4;
constexpr Index kMaxRowsPerCall = 1 << 16;

// Restores the Vae's gradient() on scope exit.
class GradientScratch {
 public:
  explicit GradientScratch(Vae& vae) : vae_(vae), saved_(vae.gradient()) { vae_.zero_gradient(); }
  ~GradientScratch() { vae_.gradient() = saved_; }
  GradientScratch(const GradientScratch&) = delete;
  GradientScratch& operator=(const GradientScratch&) = delete;

 private:
  Vae& vae_;
  Vector saved_;
};

// Index of grid point g along each dimension (odometer order, dimension 0 fastest).
void grid_index(std::int64_t g, int order, std::vector<int>& index) {
  for (auto& i : index) {
    i = int(g % order);
    g /= order;
  }
}

// One quadrature pass at `order` for a Gaussian node: returns the objective and fills the node
// gradient and (through the objective) the decoder/prior gradients.
double gaussian_quadrature_pass(Vae& vae, const StochasticNode& node, const Matrix& x, int K, int order,
                                NodeGradient& grad) {
  const Index B = node.batch(), d = node.dim();
  const int S = std::max(K, 1);  // samples per grid point
  const int dims = int(d) * S;
  const GaussHermiteRule rule = gauss_hermite_rule(order);
  std::int64_t points = 1;
  for (int i = 0; i < dims; ++i) points *= order;
  const Matrix sigma = (node.log_var.array() * Real(0.5)).exp().matrix();
  Objective& objective = vae.objective(x, K == 0 ? Objective::Terms::likelihood : Objective::Terms::joint);
  const std::int64_t chunk = std::max<std::int64_t>(1, kMaxRowsPerCall / (S * B));
  std::vector<int> index(std::size_t(dims), 0);
  Matrix z, eps, grad_z;
  Vector value, weight;
  std::vector<double> point_weight;
  double total = 0;
  std::vector<double> log_w(static_cast<std::size_t>(S)), normalised(static_cast<std::size_t>(S));
  for (std::int64_t first = 0; first < points; first += chunk) {
    const std::int64_t count = std::min(chunk, points - first);
    const Index rows = Index(count) * S * B;
    z.resize(rows, d);
    eps.resize(rows, d);
    point_weight.assign(std::size_t(count), 1.0);
    // Row ((g * S) + i) * B + b: sample i of grid point first+g for data point b.
    for (std::int64_t g = 0; g < count; ++g) {
      grid_index(first + g, order, index);
      for (int t = 0; t < dims; ++t) point_weight[std::size_t(g)] *= rule.weights[std::size_t(index[std::size_t(t)])];
      for (int i = 0; i < S; ++i)
        for (Index j = 0; j < d; ++j) {
          const Real e = Real(rule.nodes[std::size_t(index[std::size_t(i * d + j)])]);
          for (Index b = 0; b < B; ++b) {
            const Index r = (Index(g) * S + i) * B + b;
            eps(r, j) = e;
            z(r, j) = node.mean(b, j) + sigma(b, j) * e;
          }
        }
    }
    objective.evaluate(0, z, value);
    weight.resize(rows);
    if (K == 0) {
      for (Index r = 0; r < rows; ++r) {
        const double w = point_weight[std::size_t(r / B)];
        weight(r) = Real(w);
        total += w * double(value(r));
      }
    } else {
      for (std::int64_t g = 0; g < count; ++g)
        for (Index b = 0; b < B; ++b) {
          double max_lw = -INFINITY;
          for (int i = 0; i < S; ++i) {
            const Index r = (Index(g) * S + i) * B + b;
            double log_q = 0;  // along the path: -eps^2/2 - log_var/2 - log(2 pi)/2 per dimension
            for (Index j = 0; j < d; ++j)
              log_q += -0.5 * double(eps(r, j)) * double(eps(r, j)) - 0.5 * double(node.log_var(b, j)) -
                       0.5 * std::log(2 * M_PI);
            log_w[std::size_t(i)] = double(value(r)) - log_q;
            max_lw = std::max(max_lw, log_w[std::size_t(i)]);
          }
          double sum = 0;
          for (int i = 0; i < S; ++i) sum += (normalised[std::size_t(i)] = std::exp(log_w[std::size_t(i)] - max_lw));
          const double w = point_weight[std::size_t(g)];
          total += w * (max_lw + std::log(sum / S));
          for (int i = 0; i < S; ++i) {
            const double wn = normalised[std::size_t(i)] / sum;
            weight((Index(g) * S + i) * B + b) = Real(w * wn);
            for (Index j = 0; j < d; ++j) grad.d_log_var(b, j) += Real(0.5 * w * wn);
          }
        }
    }
    objective.backward(0, weight, &grad_z);
    for (Index r = 0; r < rows; ++r) {
      const Index b = r % B;
      for (Index j = 0; j < d; ++j) {
        grad.d_mean(b, j) += grad_z(r, j);
        grad.d_log_var(b, j) += grad_z(r, j) * eps(r, j) * sigma(b, j) * Real(0.5);
      }
    }
  }
  return total;
}

ExactGradient run_pass(Vae& vae, const Matrix& x, int K, int order) {
  GradientScratch scratch(vae);
  ExactGradient result;
  auto estimate = [&](const StochasticNode& node, NodeGradient& grad) {
    if (node.family->enumerable()) {
      Objective& objective = vae.objective(x, K == 0 ? Objective::Terms::likelihood : Objective::Terms::joint);
      const VectorD per_point = K == 0 ? exact_enumerated_expectation(node, objective, &grad, true)
                                       : exact_enumerated_importance_bound(node, objective, K, &grad, true);
      result.value = per_point.sum();
    } else {
      result.value = gaussian_quadrature_pass(vae, node, x, K, order, grad);
    }
  };
  VaeGradientScratch buffers;
  const std::optional<KlWeight> kl = K == 0 ? std::optional<KlWeight>(KlWeight{}) : std::nullopt;
  const VaeGradientResult pass = vae_gradient(vae, Network::kInferenceSlot, x, estimate, kl, buffers);
  if (K == 0) result.value -= pass.kl_sum;
  result.gradient = vae.gradient().cast<double>();
  return result;
}

}  // namespace

bool exact_reference_available(const Vae& vae, int importance_samples, std::string* why_not) {
  auto fail = [&](std::string message) {
    if (why_not) *why_not = std::move(message);
    return false;
  };
  const int K = importance_samples, k = vae.latents();
  if (K < 0) return fail(fmt::format("importance samples must be >= 0 (0 = ELBO), got {}", K));
  const int per_point = k * std::max(K, 1);
  if (vae.latent_family().enumerable()) {
    if (configuration_count(vae.latent_family(), per_point) == 0)
      return fail(fmt::format("exact reference by enumeration needs latents{} <= {}, got {}", K > 0 ? " x K" : "",
                              kMaxEnumeratedBits, per_point));
  } else {
    if (K == 0 && k > 2) return fail(fmt::format("exact ELBO reference by quadrature needs <= 2 Gaussian latents, got {}", k));
    if (per_point > kMaxQuadratureDims)
      return fail(fmt::format("exact K-sample bound reference by quadrature needs latents x K <= {}, got {}",
                              kMaxQuadratureDims, per_point));
  }
  return true;
}

ExactGradient exact_gradient(Vae& vae, const Matrix& x, const ExactReferenceOptions& options) {
  std::string why_not;
  if (!exact_reference_available(vae, options.importance_samples, &why_not)) throw std::invalid_argument(why_not);
  const int K = options.importance_samples;
  if (vae.latent_family().enumerable()) return run_pass(vae, x, K, 0);

  const int dims = vae.latents() * std::max(K, 1);
  // Orders tried in turn: the first consecutive pair that agrees is accepted (the higher order returned).
  std::vector<int> orders;
  if (options.order > 0 || options.check_order > 0) {
    orders = {options.order > 0 ? options.order : (dims <= 2 ? 24 : 12),
              options.check_order > 0 ? options.check_order : (dims <= 2 ? 32 : 16)};
  } else if (dims <= 2) {
    orders = {24, 32, 48, 64, 96, 128};
  } else {
    orders = {12, 16, 20, 24};
  }
  const double tolerance =
      options.tolerance > 0 ? options.tolerance : (std::is_same_v<Real, double> ? 1e-8 : 2e-4);
  ExactGradient coarse = run_pass(vae, x, K, orders[0]);
  std::string failure;
  for (std::size_t i = 1; i < orders.size(); ++i) {
    ExactGradient fine = run_pass(vae, x, K, orders[i]);
    failure.clear();
    auto check = [&](double a, double b, const std::string& what) {
      const double difference = std::abs(a - b);
      if (failure.empty() && !(difference <= tolerance * std::max(1.0, std::abs(a))))
        failure = fmt::format("{} differs by {:.3g} between orders {} and {}", what, difference, orders[i - 1], orders[i]);
    };
    check(fine.value, coarse.value, "the objective");
    for (Index c = 0; c < fine.gradient.size() && failure.empty(); ++c)
      check(fine.gradient(c), coarse.gradient(c), fmt::format("gradient component {}", c));
    if (failure.empty()) return fine;
    coarse = std::move(fine);
  }
  throw std::runtime_error(fmt::format(
      "exact reference refused: Gauss-Hermite quadrature not converged ({}; tolerance {:.1g} relative to max(1, |value|))",
      failure, tolerance));
}

}  // namespace gradest
