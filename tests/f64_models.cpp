// Parameters and Network: layout, and backward passes against central finite differences
// (tests/gradient_check.hpp), including the checker's own power to catch wrong gradients.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "models/network.hpp"
#include "models/parameters.hpp"
#include "models/rng.hpp"
#include "tests/gradient_check.hpp"
#include "tests/support.hpp"

using namespace gradest;
using gradest::testing::check_gradient;

namespace {

Matrix random_matrix(Index rows, Index cols, Rng& rng) {
  Matrix m(rows, cols);
  rng.fill_normal(m);
  return m;
}

// L = sum(C .* network(x)): its gradient is backward with d_out = C.
double weighted_output(Network& net, const Matrix& x, const Matrix& c) {
  Matrix out;
  net.forward(Network::kInferenceSlot, x, out);
  return (out.array() * c.array()).sum();
}

}  // namespace

TEST_CASE("parameters: groups are contiguous ranges of one flat vector", "[models][parameters]") {
  Parameters params;
  CHECK(params.add("encoder", 5) == 0);
  CHECK(params.add("encoder", 3) == 5);  // extends the last group
  CHECK(params.add("decoder", 4) == 8);
  CHECK(params.add("prior", 2) == 12);
  REQUIRE(params.size() == 14);
  REQUIRE(params.groups().size() == 3);
  CHECK(params.find("encoder")->size == 8);
  CHECK(params.find("decoder")->offset == 8);
  CHECK(params.find("prior")->offset == 12);
  CHECK(params.find("baseline") == nullptr);
  CHECK(params.values().isZero());
  CHECK_THROWS_AS(params.add("encoder", 1), std::logic_error);  // not the last group
  params.group("decoder").setConstant(2);
  CHECK(params.values().segment(8, 4).isConstant(2));
  CHECK(params.values().segment(0, 8).isZero());
  params.matrix(8, 2, 2)(1, 0) = 7;  // column-major
  CHECK(params.values()(9) == 7);
}

TEST_CASE("network: layout and parameter count", "[models][network]") {
  Parameters params;
  params.add("before", 3);
  NetworkSpec spec{{4, 5}, Activation::tanh};
  Network net(params, "net", 6, 2, spec);
  CHECK(Network::parameter_count(6, 2, spec) == 6 * 4 + 4 + 4 * 5 + 5 + 5 * 2 + 2);
  CHECK(net.size() == Network::parameter_count(6, 2, spec));
  CHECK(net.offset() == 3);
  CHECK(params.size() == 3 + net.size());
  CHECK(net.layers() == 3);
  CHECK(net.weight(0).rows() == 6);
  CHECK(net.weight(0).cols() == 4);
  CHECK(net.weight(0).data() == params.values().data() + 3);
  CHECK(net.bias(0).data() == params.values().data() + 3 + 24);
  CHECK(net.weight(1).data() == params.values().data() + 3 + 28);

  // Glorot range for tanh layers and the output layer, He range for leaky ReLU layers.
  Rng rng = Rng::stream(gradest::testing::seed(), {1});
  net.init(rng);
  CHECK(net.weight(0).cwiseAbs().maxCoeff() <= std::sqrt(6.0 / (6 + 4)));
  CHECK(net.bias(1).isZero());
  Parameters params2;
  Network leaky(params2, "net", 10, 3, NetworkSpec{{8}, Activation::leaky_relu});
  leaky.init(rng);
  const double he = std::sqrt(6.0 / ((1 + 0.09) * 10));
  CHECK(leaky.weight(0).cwiseAbs().maxCoeff() <= he);
  CHECK(leaky.weight(0).cwiseAbs().maxCoeff() > 0.8 * he);

  // Linear network: a single affine map.
  Parameters params3;
  Network linear(params3, "net", 3, 2, NetworkSpec{});
  linear.init(rng);
  Matrix x = random_matrix(4, 3, rng), out;
  linear.forward(x, out);
  Matrix expected = x * linear.weight(0);
  expected.rowwise() += linear.bias(0).transpose();
  CHECK((out - expected).cwiseAbs().maxCoeff() < 1e-14);
}

TEST_CASE("activations parse and print", "[models][network]") {
  for (Activation a : {Activation::none, Activation::tanh, Activation::relu, Activation::leaky_relu})
    CHECK(parse_activation(to_string(a)) == a);
  CHECK(parse_activation("leaky-relu") == Activation::leaky_relu);
  CHECK_FALSE(parse_activation("sigmoid").has_value());
}

TEST_CASE("network: backward matches finite differences for every activation and depth", "[models][network][gradient]") {
  Rng rng = Rng::stream(gradest::testing::seed(), {2});
  const Activation activations[] = {Activation::none, Activation::tanh, Activation::relu, Activation::leaky_relu};
  const std::vector<std::vector<int>> depths = {{}, {5}, {5, 4}};
  for (Activation activation : activations)
    for (const auto& hidden : depths) {
      CAPTURE(to_string(activation), hidden.size());
      Parameters params;
      params.add("other", 2);  // the network's range does not start at 0
      Network net(params, "net", 4, 3, NetworkSpec{hidden, activation});
      net.init(rng);
      params.values().segment(net.offset(), net.size()).array() += 0.3;  // biases away from 0
      const Matrix x = random_matrix(7, 4, rng);
      const Matrix c = random_matrix(7, 3, rng);

      Vector grad = Vector::Zero(params.size());
      grad(0) = 11;  // backward ADDS to its own range and leaves the rest alone
      Matrix out, d_in;
      net.forward(1, x, out);
      net.backward(1, c, grad, &d_in);
      CHECK(grad(0) == 11);
      CHECK(grad(1) == 0);
      grad(0) = 0;

      auto params_result = check_gradient(params.values(), [&] { return weighted_output(net, x, c); }, grad);
      INFO(params_result.describe());
      CHECK(params_result.passed);
      CHECK(params_result.checked == params.size());

      Matrix x_copy = x;
      auto input_result = check_gradient(x_copy, [&] { return weighted_output(net, x_copy, c); }, d_in);
      INFO(input_result.describe());
      CHECK(input_result.passed);
    }
}

TEST_CASE("network: slots keep independent caches, and backward accumulates", "[models][network][gradient]") {
  Rng rng = Rng::stream(gradest::testing::seed(), {3});
  Parameters params;
  Network net(params, "net", 3, 2, NetworkSpec{{4}, Activation::tanh});
  net.init(rng);
  const Matrix x0 = random_matrix(5, 3, rng), x1 = random_matrix(6, 3, rng);
  const Matrix c0 = random_matrix(5, 2, rng), c1 = random_matrix(6, 2, rng);
  Matrix out0, out1;
  net.forward(0, x0, out0);
  net.forward(1, x1, out1);
  Vector grad = Vector::Zero(params.size());
  net.backward(0, c0, grad, nullptr);
  net.backward(1, c1, grad, nullptr);
  // Reusing the buffers with the same shapes again must give the same numbers.
  Vector grad_again = Vector::Zero(params.size());
  net.forward(0, x0, out0);
  net.backward(0, c0, grad_again, nullptr);
  net.forward(1, x1, out1);
  net.backward(1, c1, grad_again, nullptr);
  CHECK((grad - grad_again).cwiseAbs().maxCoeff() == 0);
  auto result = check_gradient(
      params.values(), [&] { return weighted_output(net, x0, c0) + weighted_output(net, x1, c1); }, grad);
  INFO(result.describe());
  CHECK(result.passed);
}

// The checker has power: it rejects gradients that are slightly wrong.
TEST_CASE("gradient checker fails on wrong backward passes", "[models][gradient][checker]") {
  Rng rng = Rng::stream(gradest::testing::seed(), {4});
  Parameters params;
  Network net(params, "net", 4, 3, NetworkSpec{{5}, Activation::tanh});
  net.init(rng);
  const Matrix x = random_matrix(6, 4, rng), c = random_matrix(6, 3, rng);
  auto f = [&] { return weighted_output(net, x, c); };
  Matrix out;
  net.forward(x, out);
  Vector grad = Vector::Zero(params.size());
  net.backward(c, grad, nullptr);
  REQUIRE(check_gradient(params.values(), f, grad).passed);

  SECTION("one coordinate off by a relative 1e-4") {
    Vector wrong = grad;
    const Index i = 7;
    REQUIRE(std::abs(wrong(i)) > 1e-3);
    wrong(i) *= 1 + 1e-4;
    auto result = check_gradient(params.values(), f, wrong);
    CHECK_FALSE(result.passed);
    CHECK(result.failures == 1);
    CHECK(result.worst_index == i);
  }
  SECTION("a backward that drops one data point's contribution") {
    Matrix c_wrong = c;
    c_wrong.row(2).setZero();
    Vector wrong = Vector::Zero(params.size());
    net.forward(x, out);
    net.backward(c_wrong, wrong, nullptr);
    CHECK_FALSE(check_gradient(params.values(), f, wrong).passed);
  }
  SECTION("a backward with the wrong activation derivative (relu's instead of tanh's)") {
    Parameters relu_params;
    Network relu(relu_params, "net", 4, 3, NetworkSpec{{5}, Activation::relu});
    relu_params.values() = params.values();
    Vector wrong = Vector::Zero(params.size());
    relu.forward(x, out);
    relu.backward(c, wrong, nullptr);
    CHECK_FALSE(check_gradient(params.values(), f, wrong).passed);
  }
}
