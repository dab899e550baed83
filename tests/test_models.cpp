// The VAEs in the binary's float32: numerical stability at saturated logits and agreement with a
// double-precision evaluation of the same formulas.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "models/distributions.hpp"
#include "models/latent_family.hpp"
#include "models/vae.hpp"
#include "models/vae_gradient.hpp"
#include "estimators/estimator.hpp"
#include "tests/support.hpp"

using namespace gradest;

namespace {

VaeConfig linear_bernoulli(int D, int k) {
  VaeConfig config;
  config.latent = LatentKind::bernoulli;
  config.input_dim = D;
  config.latents = k;
  return config;
}

// A rows x cols batch of binary pixels, each 1 with probability p.
Matrix binary_batch(Rng& rng, Index rows, Index cols, double p) {
  Matrix x(rows, cols);
  rng.fill_uniform(x);
  return (x.array() < Real(p)).cast<Real>().matrix();
}

// A registered estimator with S = 2 samples per data point.
std::unique_ptr<Estimator> two_sample_estimator(const std::string& name, LatentKind kind) {
  std::string error;
  EstimatorOptions options;
  options.samples = 2;
  auto estimator = make_estimator(name, options, kind, &error);
  REQUIRE(estimator);
  return estimator;
}

}  // namespace

TEST_CASE("vae (float): Bernoulli likelihood and KL are finite and exact at saturated logits", "[models][vae][stability]") {
  Rng rng = Rng::stream(gradest::testing::seed(), {30});
  const int D = 40, k = 3;
  VaeConfig config = linear_bernoulli(D, k);
  // decoder output = bias alone (z = 0): logits from -100 to 100
  config.output_bias_init = Vector::LinSpaced(D, -100, 100);
  auto vae = Vae::make(config, rng);
  Matrix x(2, D);
  x.row(0).setZero();
  x.row(1).setOnes();
  Matrix z = Matrix::Zero(2, k);
  Vector f, weight = Vector::Ones(2);
  Matrix grad_z;
  Objective& objective = vae->objective(x, Objective::Terms::likelihood);
  objective.evaluate(0, z, f);
  objective.backward(0, weight, &grad_z);
  REQUIRE(f.allFinite());
  REQUIRE(vae->gradient().allFinite());
  REQUIRE(grad_z.allFinite());
  // Exact value in double: sum_i x_i g_i - softplus(g_i).
  for (int r = 0; r < 2; ++r) {
    double expected = 0;
    for (int i = 0; i < D; ++i) {
      const double g = config.output_bias_init(i);
      expected += x(r, i) * g - (g > 0 ? g + std::log1p(std::exp(-g)) : std::log1p(std::exp(g)));
    }
    CHECK(double(f(r)) == Approx(expected).epsilon(1e-6));
  }

  // KL at saturated encoder logits and prior logits: finite, >= 0 up to rounding, and 0 where
  // q = p exactly.
  vae->parameters().group("prior") << 40, -40, 0;
  StochasticNode node;
  node.family = &latent_family(LatentKind::bernoulli);
  node.logits.resize(3, k);
  node.logits << 40, -40, 0,  //
      -40, 40, 50,            //
      0, 0, -50;
  Matrix kl;
  vae->kl(node, kl);
  REQUIRE(kl.allFinite());
  CHECK(kl.minCoeff() >= -1e-4);
  CHECK(std::abs(kl(0, 0)) < 1e-4);
  CHECK(std::abs(kl(0, 2)) < 1e-6);
  // q(z=1) = sigmoid(-40) ~ 0 and p(z=0) = sigmoid(-40): KL = -log p(z=0) = softplus(40) ~ 40 nats.
  CHECK(double(kl(1, 0)) == Approx(40.0).epsilon(1e-6));
  CHECK(double(kl(1, 2)) == Approx(std::log(2.0)).epsilon(1e-6));
  // Both logits large and close: the true KL is ~1e-18; the rearranged form has no cancellation
  // of ~40-nat terms, so float gets it to far below an ulp of 40 (3.8e-6).
  {
    StochasticNode close;
    close.family = &latent_family(LatentKind::bernoulli);
    close.logits.resize(1, k);
    close.logits << 50.3f, -50.3f, 0;
    vae->parameters().group("prior") << 40.7f, -40.7f, 0;
    Matrix kl_close;
    vae->kl(close, kl_close);
    CHECK(std::abs(kl_close(0, 0)) < 1e-7);
    CHECK(std::abs(kl_close(0, 1)) < 1e-7);
    vae->parameters().group("prior") << 40, -40, 0;
  }
  NodeGradient grad;
  grad.reset_like(node);
  vae->kl_backward(node, Matrix::Ones(3, k), grad);
  CHECK(grad.d_logits.allFinite());
  CHECK(vae->gradient().allFinite());
}

TEST_CASE("vae (float): Gaussian KL and likelihoods stay finite at extreme log-variances", "[models][vae][stability]") {
  Rng rng = Rng::stream(gradest::testing::seed(), {31});
  VaeConfig config;
  config.latent = LatentKind::gaussian;
  config.input_dim = 5;
  config.latents = 2;
  config.likelihood = Likelihood::gaussian_learned;
  config.fixed_sigma = 0.01;
  auto vae = Vae::make(config, rng);
  StochasticNode node;
  node.family = &latent_family(LatentKind::gaussian);
  node.mean.resize(1, 2);
  node.log_var.resize(1, 2);
  node.mean << 3, -3;
  node.log_var << -30, 20;
  Matrix kl;
  vae->kl(node, kl);
  REQUIRE(kl.allFinite());
  CHECK(double(kl(0, 0)) == Approx(0.5 * (9 + std::exp(-30.0) - 1 + 30)).epsilon(1e-5));
  Matrix x = Matrix::Ones(1, 5), z = Matrix::Zero(1, 2);
  Vector f;
  vae->objective(x, Objective::Terms::joint).evaluate(0, z, f);
  CHECK(std::isfinite(double(f(0))));
}

TEST_CASE("vae (float): objective agrees with the double computation of the same model", "[models][vae]") {
  // The bvae-linear shape at a small batch: float32 compute with double row sums agrees with
  // double arithmetic on the same parameters to float precision.
  Rng rng = Rng::stream(gradest::testing::seed(), {32});
  const int D = 784, k = 200, B = 4;
  auto vae = Vae::make(linear_bernoulli(D, k), rng);
  const Matrix x = binary_batch(rng, B, D, 0.3);
  const Matrix z = binary_batch(rng, 2 * B, k, 0.5);
  Vector f;
  vae->objective(x, Objective::Terms::joint).evaluate(0, z, f);
  const MatrixD W = vae->decoder().weight(0).cast<double>();
  const VectorD b = vae->decoder().bias(0).cast<double>();
  const MatrixD g = (z.cast<double>() * W).rowwise() + b.transpose();
  for (Index r = 0; r < z.rows(); ++r) {
    double expected = 0;
    for (Index i = 0; i < D; ++i) {
      const double gi = g(r, i);
      expected += x(r % B, i) * gi - (gi > 0 ? gi + std::log1p(std::exp(-gi)) : std::log1p(std::exp(gi)));
    }
    expected += -double(k) * std::log(2.0);  // prior logits 0: log p(z) = -k log 2
    CHECK(double(f(r)) == Approx(expected).epsilon(1e-5));
  }
}

TEST_CASE("Bernoulli likelihood in column groups: row sums and d/dg match double precision for any S, D and logits", "[models]") {
  // add_bernoulli_log_likelihood_rows takes log(1 + e^-|g|) as the log of 8 columns' product and
  // repeats x per group; against the textbook sum in double, for widths around the group size, S
  // samples per data point, binary and fractional x, and logits from -90 to 90.
  Rng rng = Rng::stream(gradest::testing::seed(), {stable_hash("bernoulli likelihood groups")});
  const Index B = 5;
  for (Index S : {1, 3})
    for (Index D : {1, 7, 8, 9, 17, 24}) {
      INFO("S = " << S << ", D = " << D);
      Matrix x(B, D), g(S * B, D), u(B, D);
      rng.fill_uniform(u);
      rng.fill_uniform(x);
      for (Index i = 0; i < x.size(); ++i)
        if (i % 3 != 0) x.data()[i] = u.data()[i] < Real(0.5) ? Real(0) : Real(1);  // two thirds binary
      rng.fill_uniform(g);
      g = (g.array() - Real(0.5)) * Real(60);
      g(0, 0) = Real(90);
      g(S * B - 1, D - 1) = Real(-90);
      if (D > 1) g(1, 1) = Real(0);
      Matrix weights(S * B, 1);
      rng.fill_uniform(weights);
      const Vector weight = weights.col(0);
      VectorD acc = VectorD::Constant(S * B, 1.5);  // the function adds
      add_bernoulli_log_likelihood_rows(x, g, acc);
      Matrix d_out;
      bernoulli_log_likelihood_backward(x, g, weight, d_out);
      REQUIRE(d_out.rows() == S * B);
      REQUIRE(d_out.cols() == D);
      for (Index r = 0; r < S * B; ++r) {
        double expected = 1.5, scale = 1;
        for (Index j = 0; j < D; ++j) {
          const double xv = x(r % B, j), gv = g(r, j);
          const double softplus = gv > 0 ? gv + std::log1p(std::exp(-gv)) : std::log1p(std::exp(gv));
          expected += xv * gv - softplus;
          scale += std::abs(xv * gv) + softplus;
          const double sigmoid = 1 / (1 + std::exp(-gv));
          CHECK(std::abs(double(d_out(r, j)) - double(weight(r)) * (xv - sigmoid)) <= 1e-6);
        }
        CHECK(std::abs(acc(r) - expected) <= 1e-6 * scale);
      }
    }
}

TEST_CASE("a frozen node's KL is computed once and reused: the same gradients as recomputing it", "[models][vae]") {
  // VaeGradientScratch::node_frozen (the probe): draws after the first reuse the KL, its sum and
  // weights; with other KL weights it is computed again.
  Rng init = Rng::stream(gradest::testing::seed(), {stable_hash("frozen kl")});
  VaeConfig config = linear_bernoulli(12, 5);
  auto vae = Vae::make(config, init);
  const Matrix x = binary_batch(init, 3, 12, 0.4);
  auto estimator = two_sample_estimator("reinforce-loo", LatentKind::bernoulli);
  auto draws = [&](bool frozen, const std::vector<KlWeight>& weights) {
    VaeGradientScratch scratch;
    vae->encode(0, x, scratch.node);
    scratch.node_frozen = frozen;
    std::vector<std::pair<Vector, double>> out;
    for (std::size_t r = 0; r < weights.size(); ++r) {
      auto estimate = [&](const StochasticNode& node, NodeGradient& grad) {
        Rng rng(100 + r);
        estimator->estimate(node, vae->objective(x, Objective::Terms::likelihood), rng, grad);
      };
      const VaeGradientResult result = vae_gradient_encoded(*vae, 0, estimate, weights[r], scratch);
      out.emplace_back(vae->gradient(), result.kl_sum);
    }
    return out;
  };
  const std::vector<KlWeight> weights{{1.0, 0.0}, {1.0, 0.0}, {0.5, 0.0}, {0.5, 0.3}, {0.5, 0.3}};
  const auto fresh = draws(false, weights), reused = draws(true, weights);
  for (std::size_t r = 0; r < weights.size(); ++r) {
    INFO("draw " << r);
    CHECK((fresh[r].first.array() == reused[r].first.array()).all());
    CHECK(fresh[r].second == reused[r].second);
  }
}

TEST_CASE("after zero_gradient_except_encoder the objective's first backward writes the decoder's range and later ones add", "[models][vae]") {
  // The decoder's range is settled lazily (Vae::decoder_gradient_mode): stale NaN must not leak
  // into the first backward, and a second backward must add to the first, as onto zeros.
  Rng init = Rng::stream(gradest::testing::seed(), {stable_hash("decoder lazy zero")});
  VaeConfig config = linear_bernoulli(12, 5);
  config.decoder = NetworkSpec{{8}, Activation::tanh};
  auto vae = Vae::make(config, init);
  const Matrix x = binary_batch(init, 4, 12, 0.5);
  const Matrix z = binary_batch(init, 4, 5, 0.5);
  Vector value, ones = Vector::Ones(4), twos = Vector::Constant(4, Real(2));
  const Index begin = vae->decoder().offset(), size = vae->decoder().size();
  auto decoder_gradient = [&](const std::vector<const Vector*>& weights) {
    vae->gradient().setConstant(std::numeric_limits<Real>::quiet_NaN());
    vae->zero_gradient_except_encoder();
    Objective& objective = vae->objective(x, Objective::Terms::likelihood);
    objective.evaluate(0, z, value);
    for (const Vector* w : weights) objective.backward(0, *w, nullptr);
    return Vector(vae->gradient().segment(begin, size));
  };
  const Vector once = decoder_gradient({&twos});
  const Vector twice = decoder_gradient({&ones, &ones});
  REQUIRE(once.allFinite());
  REQUIRE(twice.allFinite());
  CHECK(once.cwiseAbs().maxCoeff() > 0);
  for (Index i = 0; i < size; ++i) CHECK(double(twice(i)) == Approx(double(once(i))).epsilon(1e-5).margin(1e-6));
}

TEST_CASE("vae_gradient overwrites the whole gradient: stale contents never leak, and the encoder's overwrite equals zero-then-add", "[models][vae]") {
  // vae_gradient zeroes every range but the encoder's and lets encode_backward write that one
  // (models/vae_gradient.cpp). A gradient full of NaN before the call must come out the same as
  // the textbook order: zero everything, then add every part.
  for (const auto& [kind, name] : {std::pair{LatentKind::bernoulli, "reinforce-loo"}, std::pair{LatentKind::gaussian, "pathwise"}}) {
    INFO(name);
    Rng init = Rng::stream(gradest::testing::seed(), {stable_hash("vae_gradient overwrite")});
    VaeConfig config = linear_bernoulli(12, 5);
    config.latent = kind;
    config.encoder = NetworkSpec{{7, 6}, Activation::tanh};  // several encoder layers, each overwritten
    config.decoder = NetworkSpec{{8}, Activation::leaky_relu};
    auto vae = Vae::make(config, init);
    const Matrix x = binary_batch(init, 3, 12, 0.4);
    auto estimator = two_sample_estimator(name, kind);
    auto estimate_with = [&](std::uint64_t seed) {
      return [&, seed](const StochasticNode& node, NodeGradient& grad) {
        Rng rng(seed);
        estimator->estimate(node, vae->objective(x, Objective::Terms::likelihood), rng, grad);
      };
    };
    VaeGradientScratch scratch;
    const std::optional<KlWeight> kl = KlWeight{};
    vae->gradient().setConstant(std::numeric_limits<Real>::quiet_NaN());
    vae_gradient(*vae, 0, x, estimate_with(7), kl, scratch);
    const Vector stale_first = vae->gradient();
    CHECK(stale_first.allFinite());
    // The same step from a zeroed gradient, every part added (encode_backward's default).
    vae->zero_gradient();
    StochasticNode node;
    NodeGradient node_gradient;
    vae->encode(0, x, node);
    node_gradient.reset_like(node);
    estimate_with(7)(node, node_gradient);
    Matrix kl_values, weights;
    vae->kl(node, kl_values);
    weights.setConstant(kl_values.rows(), kl_values.cols(), Real(1));
    vae->kl_backward(node, weights, node_gradient);
    vae->encode_backward(0, node_gradient);
    const Vector added = vae->gradient();
    REQUIRE(added.size() == stale_first.size());
    CHECK((added.array() == stale_first.array()).all());
    CHECK(added.cwiseAbs().maxCoeff() > 0);
    // A wrong overwrite would show: adding the encoder's part onto stale values does not match.
    vae->gradient().setConstant(Real(1));
    vae->encode(0, x, node);
    vae->encode_backward(0, node_gradient);
    CHECK_FALSE((vae->gradient().array() == added.array()).all());
    // With no backward after zero_gradient_except_encoder, gradient() reads zeros in the decoder's
    // range, not its stale contents.
    vae->gradient().setConstant(std::numeric_limits<Real>::quiet_NaN());
    vae->zero_gradient_except_encoder();
    const Vector settled = vae->gradient();
    const Index decoder_begin = vae->decoder().offset();
    CHECK((settled.segment(decoder_begin, vae->decoder().size()).array() == Real(0)).all());
    CHECK((settled.tail(settled.size() - decoder_begin - vae->decoder().size()).array() == Real(0)).all());
  }
}
