#include "estimators/concrete_relaxation.hpp"

#include <cmath>

#include "estimators/monte_carlo.hpp"

namespace gradest {

namespace {

double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
double sigmoid_d(double x) { return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)); }

}  // namespace

void ConcreteRelaxation::draw(const StochasticNode& node, int samples, double lambda, Rng& rng) {
  const Index B = node.batch(), k = node.dim(), R = Index(samples) * B;
  u.resize(R, k);
  v.resize(R, k);
  rng.fill_uniform_open(u);
  rng.fill_uniform_open(v);
  b.resize(R, k);
  s.resize(R, k);
  s_tilde.resize(R, k);
  z.resize(R, k);
  z_tilde.resize(R, k);
  dz_tilde.resize(R, k);
  for (Index j = 0; j < k; ++j)
    for (Index r = 0; r < R; ++r) {
      const double theta = node.logits(r % B, j), ur = u(r, j), vr = v(r, j);
      const double zr = theta + std::log(ur) - std::log1p(-ur);
      const bool one = zr > 0;
      const double zt =
          one ? softplus(theta + std::log(vr)) - std::log1p(-vr) : std::log(vr) - softplus(-theta + std::log1p(-vr));
      b(r, j) = one ? Real(1) : Real(0);
      z(r, j) = Real(zr);
      z_tilde(r, j) = Real(zt);
      dz_tilde(r, j) = Real(one ? sigmoid_d(theta + std::log(vr)) : sigmoid_d(-theta + std::log1p(-vr)));
      s(r, j) = Real(sigmoid_d(zr / lambda));
      s_tilde(r, j) = Real(sigmoid_d(zt / lambda));
    }
}

bool ConcreteRelaxation::evaluate(Objective& objective, int samples, double lambda, bool second_order) {
  const Index R = b.rows(), k = b.cols();
  evaluate_with_plain_gradient(objective, b, samples, value_b, weight_, nullptr);
  ones_.setOnes(R);
  objective.evaluate(1, s, value_s);
  objective.gradient_in_z(1, ones_, g_s);
  objective.evaluate(2, s_tilde, value_s_tilde);
  objective.gradient_in_z(2, ones_, g_s_tilde);
  if (!second_order) return true;
  direction.resize(2 * R, k);
  for (Index j = 0; j < k; ++j)
    for (Index r = 0; r < R; ++r) {
      const double sr = s(r, j), st = s_tilde(r, j);
      direction(r, j) = Real(-sr * (1 - sr) * z(r, j) / (lambda * lambda));
      direction(R + r, j) = Real(-st * (1 - st) * z_tilde(r, j) / (lambda * lambda));
    }
  Matrix hv_tilde;
  if (!objective.hessian_vector_in_z(1, ones_, direction.topRows(R), hv) ||
      !objective.hessian_vector_in_z(2, ones_, direction.bottomRows(R), hv_tilde))
    return false;
  hv.conservativeResize(2 * R, k);
  hv.bottomRows(R) = hv_tilde;
  return true;
}

double ConcreteRelaxation::tilde_along(Index r) const {
  const Index R = b.rows();
  double along = 0;
  for (Index i = 0; i < b.cols(); ++i) along += double(g_s_tilde(r, i)) * direction(R + r, i);
  return along;
}

ConcreteRelaxation::Terms ConcreteRelaxation::control_variate(Index r, Index j, double score, double lambda,
                                                              bool second_order, double along) const {
  const Index R = b.rows();
  const double sr = s(r, j), st = s_tilde(r, j), e = dz_tilde(r, j);
  const double kappa = sr * (1 - sr) / lambda, kappa_tilde = st * (1 - st) / lambda;
  Terms terms;
  terms.cv = -double(value_s_tilde(r)) * score + double(g_s(r, j)) * kappa - double(g_s_tilde(r, j)) * kappa_tilde * e;
  if (second_order) {
    const double w = direction(r, j), wt = direction(R + r, j);
    const double dkappa = (1 - 2 * sr) * w / lambda - sr * (1 - sr) / (lambda * lambda);
    const double dkappa_tilde = (1 - 2 * st) * wt / lambda - st * (1 - st) / (lambda * lambda);
    terms.dcv_lambda = -along * score + double(hv(r, j)) * kappa + double(g_s(r, j)) * dkappa -
                       (double(hv(R + r, j)) * kappa_tilde + double(g_s_tilde(r, j)) * dkappa_tilde) * e;
  }
  return terms;
}

}  // namespace gradest
