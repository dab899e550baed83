#pragma once
// Dense feed-forward networks with hand-written, batched backpropagation.
//
// A network maps in -> out through the hidden sizes of its NetworkSpec: every hidden layer is
// affine + activation, the output layer is affine only. An empty `hidden` makes it one affine map
// (a "linear" network).
//
// Batches are B x in matrices, one row per data point (models/types.hpp). Layer l computes
//     h_l = act(h_{l-1} W_l + 1 b_l^T),   W_l: in_l x out_l (column-major),  b_l: out_l,
// so forward is a GEMM (B x in)(in x out), and backward is dW += h^T d (in x B)(B x out) and
// d_in = d W^T: three GEMMs with Eigen's good layouts, no per-example loop.
//
// Parameter layout inside the network's range of Parameters (its group), layer by layer:
//     [W_1 (in_1*out_1, column-major), b_1 (out_1), W_2, b_2, ..., W_L, b_L].
//
// Caches: forward keeps what backward needs (a copy of the input and each hidden layer's output)
// in one of kSlots independent slots, so several evaluations can be in flight (an estimator's
// slots 0..Objective::kSlots-1, and kInferenceSlot for evaluation/sampling that must not disturb
// them). Buffers are reused: after the first call with a given batch shape, forward and backward
// allocate nothing.
//
// Activations: tanh, relu, leaky_relu with slope 0.3 for negative inputs (as DisARM), or none.
// Their derivatives are computed from the layer OUTPUT (tanh: 1 - y^2; relu/leaky: sign of y).
//
// Initialisation (init): weights uniform on [-r, r], biases zero, where
//   - Glorot/Xavier uniform  r = sqrt(6 / (fan_in + fan_out)) for layers followed by tanh or by
//     no activation (the output layer);
//   - He/Kaiming uniform     r = sqrt(6 / ((1 + slope^2) fan_in)) for layers followed by relu
//     (slope 0) or leaky_relu (slope 0.3).
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "models/parameters.hpp"
#include "models/rng.hpp"
#include "models/stochastic.hpp"
#include "models/types.hpp"

namespace gradest {

enum class Activation { none, tanh, relu, leaky_relu };
inline constexpr double kLeakyReluSlope = 0.3;

// "none" (also "linear", "identity"), "tanh", "relu", "leaky_relu" (also "leaky-relu", "lrelu").
std::optional<Activation> parse_activation(std::string_view name);
std::string_view to_string(Activation activation);
// "none, tanh, relu, leaky_relu": for error messages.
std::string_view activation_names();

struct NetworkSpec {
  std::vector<int> hidden;  // empty = linear (one affine map)
  Activation activation = Activation::tanh;
};

class Network {
 public:
  static constexpr int kSlots = Objective::kSlots + 1;
  static constexpr int kInferenceSlot = Objective::kSlots;

  // Adds the network's parameters to `params` under `group` (see Parameters::add). The network
  // keeps a pointer to `params`, which must outlive it.
  Network(Parameters& params, const std::string& group, int in, int out, const NetworkSpec& spec);

  // Number of parameters such a network has.
  static Index parameter_count(int in, int out, const NetworkSpec& spec);

  // Glorot/He uniform weights (see above), zero biases.
  void init(Rng& rng);

  // out = network(x) (x: B x in, out resized to B x out). Caches for backward(slot, ...).
  void forward(int slot, const Matrix& x, Matrix& out);
  void forward(const Matrix& x, Matrix& out) { forward(0, x, out); }

  // After forward(slot, x, ...): with d_out = dL/d out (B x out), ADDS dL/dparams into
  // grad_flat's range of this network (grad_flat has the layout of Parameters::values()), and
  // if d_in is not null writes dL/dx (B x in) into it (skipping that GEMM when null). With
  // Accumulate::overwrite it WRITES the network's range instead (whatever it held is not read: the
  // weight gradient's GEMM runs with beta = 0), for a caller that would otherwise zero it first.
  enum class Accumulate { add, overwrite };
  void backward(int slot, const Matrix& d_out, Vector& grad_flat, Matrix* d_in, Accumulate mode = Accumulate::add);
  void backward(const Matrix& d_out, Vector& grad_flat, Matrix* d_in) { backward(0, d_out, grad_flat, d_in); }
  // The same without the parameter gradient: only dL/dx (B x in) into d_in.
  void backward_input(int slot, const Matrix& d_out, Matrix& d_in);
  // After forward(slot, x, ...), for L(x) = l(network(x)) with d_out = dl/d out at that forward:
  // writes (d^2 L/dx^2) v into hv (B x in), row by row (each row of x is its own data point), by
  // Pearlmutter's R-operator: a forward pass of directional derivatives R(.) = d/de (.)(x + e v), then
  // the backward pass and its R. `output_curvature(r_out, r_d_out)` gives the loss's part:
  // r_d_out = (d^2 l/d out^2) r_out. No parameter gradient is touched.
  void hessian_vector_input(int slot, const Matrix& v, const Matrix& d_out,
                            const std::function<void(const Matrix& r_out, Matrix& r_d_out)>& output_curvature,
                            Matrix& hv);

  // After forward(slot, x, ...): with v (B x in) one direction per row and d_r_out (B x out), ADDS into
  // grad_flat's range of this network the gradient with respect to the network's parameters of
  //     J = sum_r d_r_out_r . R(out_r),   R(out_r) = (d out_r / d x_r) v_r,
  // the directional derivative of the output along v (double backpropagation, for losses on a
  // network's input gradient such as relax's surrogate). The R-operator's forward pass as above,
  // then the reverse pass through it: with A_i = dJ/dR(a_i), a_i its adjoint through act'',
  //     dW_i += R(h_{i-1})^T A_i + h_{i-1}^T a_i,   db_i += column sums of a_i,
  //     A_{i-1} = act'(a_{i-1}) (A_i W_i^T),   a_{i-1} = act'(a_{i-1}) (a_i W_i^T) + act''(a_{i-1}) R(a_{i-1}) (A_i W_i^T),
  // starting from A_L = d_r_out, a_L = 0. Touches no cache of the slot.
  void backward_directional(int slot, const Matrix& v, const Matrix& d_r_out, Vector& grad_flat);

  int in() const { return in_; }
  int out() const { return out_; }
  int layers() const { return static_cast<int>(layers_.size()); }
  const NetworkSpec& spec() const { return spec_; }
  Index offset() const { return offset_; }
  Index size() const { return size_; }

  // Views of layer l's weight (in_l x out_l) and bias (out_l) in the parameter vector.
  MatrixMap weight(int layer);
  VectorMap bias(int layer);

 private:
  // grad: the flat gradient's data, or nullptr for dL/dx alone.
  void backward(int slot, const Matrix& d_out, Real* grad, Matrix* d_in, Accumulate mode);
  struct Layer {
    int in = 0, out = 0;
    Index weight_offset = 0, bias_offset = 0;
    Activation activation = Activation::none;
  };
  struct Cache {
    Matrix input;                 // copy of x
    std::vector<Matrix> hidden;   // output of each hidden layer (after activation)
  };

  Parameters* params_;
  NetworkSpec spec_;
  int in_ = 0, out_ = 0;
  Index offset_ = 0, size_ = 0;
  std::vector<Layer> layers_;
  std::vector<Cache> caches_;
  Matrix delta_, delta_next_;  // backward scratch, reused
};

}  // namespace gradest
