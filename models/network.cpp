#include "models/network.hpp"

#include "models/blas.hpp"

#include <cmath>
#include <stdexcept>
#include <utility>

namespace gradest {

std::optional<Activation> parse_activation(std::string_view name) {
  if (name == "none" || name == "linear" || name == "identity") return Activation::none;
  if (name == "tanh") return Activation::tanh;
  if (name == "relu") return Activation::relu;
  if (name == "leaky_relu" || name == "leaky-relu" || name == "lrelu" || name == "leakyrelu") return Activation::leaky_relu;
  return std::nullopt;
}

std::string_view to_string(Activation activation) {
  switch (activation) {
    case Activation::none: return "none";
    case Activation::tanh: return "tanh";
    case Activation::relu: return "relu";
    case Activation::leaky_relu: return "leaky_relu";
  }
  return "?";
}

std::string_view activation_names() { return "none, tanh, relu, leaky_relu"; }

namespace {

// In place: y = act(y + 1 b^T), one pass over y after the product (column by column: the bias is
// one value per column of the column-major y, and each column is a contiguous run the compiler
// vectorises; Eigen's tanh is vectorised for float).
void add_bias_and_activate(Activation activation, const Real* b, Matrix& y) {
  const Index rows = y.rows();
  for (Index j = 0; j < y.cols(); ++j) {
    Real* p = y.data() + j * rows;
    const Real bj = b[j];
    switch (activation) {
      case Activation::none:
        for (Index i = 0; i < rows; ++i) p[i] += bj;
        break;
      case Activation::tanh: {
        Eigen::Map<Vector> column(p, rows);
        column.array() = (column.array() + bj).tanh();
        break;
      }
      case Activation::relu:
        for (Index i = 0; i < rows; ++i) {
          const Real v = p[i] + bj;
          p[i] = v > Real(0) ? v : Real(0);
        }
        break;
      case Activation::leaky_relu:
        for (Index i = 0; i < rows; ++i) {
          const Real v = p[i] + bj;
          p[i] = v > Real(0) ? v : Real(kLeakyReluSlope) * v;
        }
        break;
    }
  }
}

// In place: d *= act'(pre-activation), written through the layer output y.
void apply_activation_derivative(Activation activation, const Matrix& y, Matrix& d) {
  const Real* py = y.data();
  Real* pd = d.data();
  const Index n = d.size();
  switch (activation) {
    case Activation::none: break;
    case Activation::tanh:
      for (Index i = 0; i < n; ++i) pd[i] *= Real(1) - py[i] * py[i];
      break;
    case Activation::relu:
      for (Index i = 0; i < n; ++i) pd[i] = py[i] > Real(0) ? pd[i] : Real(0);
      break;
    case Activation::leaky_relu:
      for (Index i = 0; i < n; ++i) pd[i] = py[i] > Real(0) ? pd[i] : Real(kLeakyReluSlope) * pd[i];
      break;
  }
}

// In place: d += g * act''(pre-activation) * r, written through the layer output y (tanh'' =
// -2 y (1 - y^2); the piecewise-linear activations have act'' = 0 almost everywhere).
void add_activation_curvature(Activation activation, const Matrix& y, const Matrix& g, const Matrix& r, Matrix& d) {
  if (activation != Activation::tanh) return;
  d.array() -= Real(2) * y.array() * (Real(1) - y.array().square()) * g.array() * r.array();
}

}  // namespace

Index Network::parameter_count(int in, int out, const NetworkSpec& spec) {
  Index count = 0;
  int previous = in;
  for (int h : spec.hidden) {
    count += Index(previous) * h + h;
    previous = h;
  }
  return count + Index(previous) * out + out;
}

Network::Network(Parameters& params, const std::string& group, int in, int out, const NetworkSpec& spec)
    : params_(&params), spec_(spec), in_(in), out_(out), caches_(kSlots) {
  if (in < 1 || out < 1) throw std::invalid_argument("Network: input and output sizes must be >= 1");
  for (int h : spec.hidden)
    if (h < 1) throw std::invalid_argument("Network: hidden sizes must be >= 1");
  size_ = parameter_count(in, out, spec);
  offset_ = params.add(group, size_);
  Index cursor = offset_;
  int previous = in;
  auto add_layer = [&](int width, Activation activation) {
    Layer layer;
    layer.in = previous;
    layer.out = width;
    layer.weight_offset = cursor;
    layer.bias_offset = cursor + Index(previous) * width;
    layer.activation = activation;
    cursor = layer.bias_offset + width;
    layers_.push_back(layer);
    previous = width;
  };
  for (int h : spec.hidden) add_layer(h, spec.activation);
  add_layer(out, Activation::none);
  for (auto& cache : caches_) cache.hidden.resize(layers_.size() - 1);
}

MatrixMap Network::weight(int layer) {
  const Layer& l = layers_.at(layer);
  return params_->matrix(l.weight_offset, l.in, l.out);
}

VectorMap Network::bias(int layer) {
  const Layer& l = layers_.at(layer);
  return params_->view(l.bias_offset, l.out);
}

void Network::init(Rng& rng) {
  for (int i = 0; i < layers(); ++i) {
    const Layer& l = layers_[i];
    double range = 0;
    if (l.activation == Activation::relu || l.activation == Activation::leaky_relu) {
      const double slope = l.activation == Activation::relu ? 0.0 : kLeakyReluSlope;
      range = std::sqrt(6.0 / ((1.0 + slope * slope) * l.in));
    } else {
      range = std::sqrt(6.0 / (l.in + l.out));
    }
    MatrixMap w = weight(i);
    for (Index c = 0; c < w.cols(); ++c)
      for (Index r = 0; r < w.rows(); ++r) w(r, c) = Real(range * (2.0 * rng.uniform() - 1.0));
    bias(i).setZero();
  }
}

void Network::forward(int slot, const Matrix& x, Matrix& out) {
  if (x.cols() != in_) throw std::invalid_argument("Network::forward: input has the wrong number of columns");
  Cache& cache = caches_.at(slot);
  cache.input = x;
  const Matrix* h = &cache.input;
  const Real* values = params_->values().data();
  for (int i = 0; i < layers(); ++i) {
    const Layer& l = layers_[i];
    ConstMatrixMap w(values + l.weight_offset, l.in, l.out);
    ConstVectorMap b(values + l.bias_offset, l.out);
    Matrix& y = i + 1 < layers() ? cache.hidden[i] : out;
    y.resize(x.rows(), l.out);
    blas::gemm(blas::Op::none, *h, blas::Op::none, w, Real(0), y);
    add_bias_and_activate(l.activation, b.data(), y);
    h = &y;
  }
}

void Network::backward(int slot, const Matrix& d_out, Vector& grad_flat, Matrix* d_in, Accumulate mode) {
  if (grad_flat.size() < offset_ + size_)
    throw std::invalid_argument("Network::backward: the gradient vector does not hold this network's range");
  backward(slot, d_out, grad_flat.data(), d_in, mode);
}

void Network::backward_input(int slot, const Matrix& d_out, Matrix& d_in) {
  backward(slot, d_out, nullptr, &d_in, Accumulate::add);
}

void Network::backward(int slot, const Matrix& d_out, Real* grad, Matrix* d_in, Accumulate mode) {
  Cache& cache = caches_.at(slot);
  const Index B = cache.input.rows();
  if (d_out.rows() != B || d_out.cols() != out_)
    throw std::invalid_argument("Network::backward: d_out does not match the last forward in this slot");
  const Real* values = params_->values().data();
  const Matrix* delta = &d_out;
  for (int i = layers() - 1; i >= 0; --i) {
    const Layer& l = layers_[i];
    const Matrix& h = i == 0 ? cache.input : cache.hidden[i - 1];
    if (grad) {
      MatrixMap dw(grad + l.weight_offset, l.in, l.out);
      VectorMap db(grad + l.bias_offset, l.out);
      if (mode == Accumulate::add) {
        blas::gemm(blas::Op::transpose, h, blas::Op::none, *delta, Real(1), dw);
        db.noalias() += delta->colwise().sum().transpose();
      } else {
        blas::gemm(blas::Op::transpose, h, blas::Op::none, *delta, Real(0), dw);
        db.noalias() = delta->colwise().sum().transpose();
      }
    }
    ConstMatrixMap w(values + l.weight_offset, l.in, l.out);
    if (i > 0) {
      Matrix& next = delta == &delta_ ? delta_next_ : delta_;
      next.resize(B, l.in);
      blas::gemm(blas::Op::none, *delta, blas::Op::transpose, w, Real(0), next);
      apply_activation_derivative(layers_[i - 1].activation, cache.hidden[i - 1], next);
      delta = &next;
    } else if (d_in) {
      d_in->resize(B, l.in);
      blas::gemm(blas::Op::none, *delta, blas::Op::transpose, w, Real(0), *d_in);
    }
  }
}

void Network::hessian_vector_input(int slot, const Matrix& v, const Matrix& d_out,
                                   const std::function<void(const Matrix&, Matrix&)>& output_curvature, Matrix& hv) {
  const Cache& cache = caches_.at(slot);
  const Index B = cache.input.rows();
  if (v.rows() != B || v.cols() != in_ || d_out.rows() != B || d_out.cols() != out_)
    throw std::invalid_argument("Network::hessian_vector_input: v or d_out does not match the last forward in this slot");
  const Real* values = params_->values().data();
  auto weights = [&](int i) { return ConstMatrixMap(values + layers_[i].weight_offset, layers_[i].in, layers_[i].out); };
  const int L = layers();
  // Forward: R(a_i) = R(h_{i-1}) W_i, R(h_i) = act'(a_i) R(a_i); R(h_0) = v. The output layer is affine.
  std::vector<Matrix> r_pre(static_cast<std::size_t>(L));
  Matrix r_h = v;
  for (int i = 0; i < L; ++i) {
    r_pre[i] = r_h * weights(i);
    if (i + 1 < L) {
      r_h = r_pre[i];
      apply_activation_derivative(layers_[i].activation, cache.hidden[i], r_h);
    }
  }
  Matrix r_delta;
  output_curvature(r_pre[L - 1], r_delta);
  Matrix delta = d_out;
  // Backward: delta_{i-1} = (delta_i W_i^T) act'; its R adds (delta_i W_i^T) act'' R(a_{i-1}).
  for (int i = L - 1; i > 0; --i) {
    Matrix back = delta * weights(i).transpose();
    Matrix r_back = r_delta * weights(i).transpose();
    const Activation act = layers_[i - 1].activation;
    apply_activation_derivative(act, cache.hidden[i - 1], r_back);
    add_activation_curvature(act, cache.hidden[i - 1], back, r_pre[i - 1], r_back);
    apply_activation_derivative(act, cache.hidden[i - 1], back);
    delta.swap(back);
    r_delta.swap(r_back);
  }
  hv.noalias() = r_delta * weights(0).transpose();
}

void Network::backward_directional(int slot, const Matrix& v, const Matrix& d_r_out, Vector& grad_flat) {
  const Cache& cache = caches_.at(slot);
  const Index B = cache.input.rows();
  if (v.rows() != B || v.cols() != in_ || d_r_out.rows() != B || d_r_out.cols() != out_)
    throw std::invalid_argument("Network::backward_directional: v or d_r_out does not match the last forward in this slot");
  const Real* values = params_->values().data();
  auto weights = [&](int i) { return ConstMatrixMap(values + layers_[i].weight_offset, layers_[i].in, layers_[i].out); };
  const int L = layers();
  // Forward: r_h[i] = R(h_i) (r_h[0] = v), r_pre[i] = R(a_{i+1}) (0-based layers).
  std::vector<Matrix> r_h(static_cast<std::size_t>(L)), r_pre(static_cast<std::size_t>(L));
  r_h[0] = v;
  for (int i = 0; i < L; ++i) {
    r_pre[i] = r_h[i] * weights(i);
    if (i + 1 < L) {
      r_h[i + 1] = r_pre[i];
      apply_activation_derivative(layers_[i].activation, cache.hidden[i], r_h[i + 1]);
    }
  }
  // Reverse: tangent_adj = dJ/dR(a_i), primal_adj = dJ/da_i (zero at the output, which enters J only through R).
  Matrix tangent_adj = d_r_out, primal_adj = Matrix::Zero(B, out_);
  for (int i = L - 1; i >= 0; --i) {
    const Layer& l = layers_[i];
    const Matrix& h = i == 0 ? cache.input : cache.hidden[i - 1];
    MatrixMap dw(grad_flat.data() + l.weight_offset, l.in, l.out);
    VectorMap db(grad_flat.data() + l.bias_offset, l.out);
    dw.noalias() += r_h[i].transpose() * tangent_adj;
    dw.noalias() += h.transpose() * primal_adj;
    db.noalias() += primal_adj.colwise().sum().transpose();
    if (i == 0) break;
    Matrix back_tangent = tangent_adj * weights(i).transpose();
    Matrix back_primal = primal_adj * weights(i).transpose();
    const Activation act = layers_[i - 1].activation;
    apply_activation_derivative(act, cache.hidden[i - 1], back_primal);
    add_activation_curvature(act, cache.hidden[i - 1], back_tangent, r_pre[i - 1], back_primal);
    apply_activation_derivative(act, cache.hidden[i - 1], back_tangent);
    tangent_adj.swap(back_tangent);
    primal_adj.swap(back_primal);
  }
}

}  // namespace gradest
