#include "models/vae.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <utility>

#include "models/distributions.hpp"
#include "models/latent_family.hpp"

namespace gradest {

namespace {

constexpr double kHalfLog2Pi = 0.91893853320467274178;  // 0.5 log(2 pi)

const VaeConfig& checked(const VaeConfig& config) {
  std::string error;
  if (!config.valid(&error)) throw std::invalid_argument(error);
  return config;
}

}  // namespace

std::optional<Likelihood> parse_likelihood(std::string_view name) {
  if (name == "bernoulli") return Likelihood::bernoulli;
  if (name == "gaussian" || name == "gaussian-fixed" || name == "gaussian_fixed") return Likelihood::gaussian_fixed;
  if (name == "gaussian-learned" || name == "gaussian_learned") return Likelihood::gaussian_learned;
  if (name == "categorical") return Likelihood::categorical;
  return std::nullopt;
}

std::string_view to_string(Likelihood likelihood) {
  switch (likelihood) {
    case Likelihood::bernoulli: return "bernoulli";
    case Likelihood::gaussian_fixed: return "gaussian-fixed";
    case Likelihood::gaussian_learned: return "gaussian-learned";
    case Likelihood::categorical: return "categorical";
  }
  return "?";
}

std::string_view likelihood_names() { return "bernoulli, gaussian-fixed, gaussian-learned, categorical"; }

namespace {
// Network::parameter_count in double: sizes that overflow an index are refused, not wrapped.
double network_parameters(double in, double out, const NetworkSpec& spec) {
  double count = 0, previous = in;
  for (int h : spec.hidden) {
    count += previous * h + h;
    previous = h;
  }
  return count + previous * out + out;
}
}  // namespace

double VaeConfig::parameter_count() const {
  const LatentFamily& f = family();
  double count = network_parameters(input_dim, double(f.encoder_outputs(latents)), encoder) +
                 network_parameters(double(f.sample_columns(latents)), double(input_dim) *
                                    (likelihood == Likelihood::categorical ? categories : 1), decoder) +
                 double(f.prior_parameters(latents));
  return likelihood == Likelihood::gaussian_learned ? count + input_dim : count;
}

double VaeConfig::widest_layer() const {
  const LatentFamily& f = family();
  double widest = std::max({double(input_dim), double(f.encoder_outputs(latents)), double(f.sample_columns(latents)),
                            double(input_dim) * (likelihood == Likelihood::categorical ? categories : 1)});
  for (int h : encoder.hidden) widest = std::max(widest, double(h));
  for (int h : decoder.hidden) widest = std::max(widest, double(h));
  return widest;
}

bool VaeConfig::valid(std::string* error) const {
  auto fail = [&](std::string message) {
    if (error) *error = std::move(message);
    return false;
  };
  if (input_dim < 1) return fail(fmt::format("input dimension must be >= 1, got {}", input_dim));
  if (latents < 1) return fail(fmt::format("latents must be >= 1, got {}", latents));
  for (int h : encoder.hidden)
    if (h < 1) return fail(fmt::format("encoder hidden sizes must be >= 1, got {}", h));
  for (int h : decoder.hidden)
    if (h < 1) return fail(fmt::format("decoder hidden sizes must be >= 1, got {}", h));
  if (likelihood == Likelihood::categorical && categories < 2)
    return fail(fmt::format("categories must be >= 2 for the categorical likelihood, got {}", categories));
  if ((likelihood == Likelihood::gaussian_fixed || likelihood == Likelihood::gaussian_learned) &&
      !(fixed_sigma > 0 && std::isfinite(fixed_sigma)))
    return fail(fmt::format("gaussian sigma must be a finite number > 0, got {}", fixed_sigma));
  if (centre_input && input_mean.size() != input_dim)
    return fail(fmt::format("centre_input needs an input mean of size {} (the input dimension), got {}", input_dim,
                            input_mean.size()));
  if (input_mean.size() != 0 && input_mean.size() != input_dim)
    return fail(fmt::format("input mean must have size {} (the input dimension), got {}", input_dim, input_mean.size()));
  if (latent == LatentKind::categorical && latent_categories < 2)
    return fail(fmt::format("categorical latents need at least 2 categories, got {}", latent_categories));
  // Layer widths are ints: k * C latent columns and D * V decoder outputs must fit.
  constexpr double kMaxWidth = std::numeric_limits<int>::max();
  if (double(family().encoder_outputs(latents)) > kMaxWidth)
    return fail(fmt::format("{} latents need {} encoder outputs, more than the {} a layer may have", latents,
                            double(family().encoder_outputs(latents)), kMaxWidth));
  if (double(input_dim) * (likelihood == Likelihood::categorical ? categories : 1) > kMaxWidth)
    return fail(fmt::format("{} inputs x {} categories exceed the {} outputs a layer may have", input_dim, categories,
                            kMaxWidth));
  if (signed_latent_input && !family().binary())
    return fail("signed latent input (decoder sees 2z-1) is for Bernoulli latents only");
  if (output_bias_init.size() != 0 && output_bias_init.size() != decoder_outputs())
    return fail(fmt::format("decoder output bias init must have size {} (decoder outputs), got {}", decoder_outputs(),
                            output_bias_init.size()));
  if (output_bias_init.size() != 0 && !output_bias_init.allFinite())
    return fail("decoder output bias init must be finite (clip the mean away from 0 and 1 before taking its logit)");
  return true;
}

// ---- the objective f(x, z) -----------------------------------------------------------------------

class Vae::VaeObjective final : public Objective {
 public:
  explicit VaeObjective(Vae& vae) : vae_(vae), slots_(kSlots) {}

  void bind(const Matrix& x, Terms terms) {
    const VaeConfig& c = vae_.config_;
    if (x.cols() != c.input_dim)
      throw std::invalid_argument(fmt::format("VAE objective: data has {} columns, the model {}", x.cols(), c.input_dim));
    if (c.likelihood == Likelihood::categorical) {
      const Real* p = x.data();
      for (Index i = 0; i < x.size(); ++i)
        if (!(p[i] >= 0 && p[i] < c.categories && p[i] == std::floor(p[i])))
          throw std::invalid_argument(
              fmt::format("categorical data must hold symbol ids 0..{}, found {}", c.categories - 1, double(p[i])));
    }
    if (terms == Terms::toy) throw std::invalid_argument("VAE objective: terms must be likelihood or joint");
    x_ = &x;
    terms_kind_ = terms;
    for (auto& slot : slots_) slot.evaluated = false;
  }

  Terms terms() const override { return terms_kind_; }
  Index batch() const override { return x_->rows(); }
  bool differentiable_in_z() const override { return true; }
  const Matrix* inputs() const override { return x_; }

  void backward(int slot, const Vector& weight, Matrix* grad_z) override { backward(slot, weight, grad_z, true); }
  void gradient_in_z(int slot, const Vector& weight, Matrix& grad_z) override { backward(slot, weight, &grad_z, false); }
  // Bernoulli latents only (their log prior is linear in z: no curvature); false for the others.
  bool hessian_vector_in_z(int slot, const Vector& weight, const Matrix& v, Matrix& hv) override;
  // parameters_too = false: grad_z alone, no decoder or prior gradient.
  void backward(int slot, const Vector& weight, Matrix* grad_z, bool parameters_too);

 protected:
  void do_evaluate(int slot, const Matrix& z, Vector& value) override;

 private:
  struct Slot {
    Matrix z, decoder_in, out, lse;
    bool evaluated = false;
  };
  Vae& vae_;
  const Matrix* x_ = nullptr;
  Terms terms_kind_ = Terms::likelihood;
  std::vector<Slot> slots_;
  VectorD acc_;
  Matrix d_out_, d_in_, max_, sum_;
  Vector prior_scratch_;  // gradient_in_z's log-prior parameter gradient, discarded
};

void Vae::VaeObjective::do_evaluate(int slot_index, const Matrix& z, Vector& value) {
  const VaeConfig& c = vae_.config_;
  const Matrix& x = *x_;
  const Index B = x.rows(), D = c.input_dim, R = z.rows();
  if (z.cols() != vae_.family_.sample_columns(c.latents) || B == 0 || R % B != 0)
    throw std::invalid_argument("VAE objective: z must have the family's sample columns (k, or k*C) and a multiple of the batch's rows");
  const Index S = R / B;
  Slot& slot = slots_.at(slot_index);
  slot.z = z;
  if (c.signed_latent_input) {
    slot.decoder_in.resize(R, z.cols());
    slot.decoder_in.array() = Real(2) * z.array() - Real(1);
    vae_.decoder_.forward(slot_index, slot.decoder_in, slot.out);
  } else {
    vae_.decoder_.forward(slot_index, z, slot.out);
  }
  const Matrix& g = slot.out;
  acc_.setZero(R);

  switch (c.likelihood) {
    case Likelihood::bernoulli: {
      add_bernoulli_log_likelihood_rows(x, g, acc_);
      break;
    }
    case Likelihood::gaussian_fixed: {
      const Real inv_var = Real(1.0 / (c.fixed_sigma * c.fixed_sigma));
      for (Index j = 0; j < D; ++j)
        for (Index s = 0; s < S; ++s) {
          auto gj = g.col(j).segment(s * B, B).array();
          acc_.segment(s * B, B).array() += (Real(-0.5) * inv_var * (x.col(j).array() - gj).square()).template cast<double>();
        }
      acc_.array() -= double(D) * (std::log(c.fixed_sigma) + kHalfLog2Pi);
      break;
    }
    case Likelihood::gaussian_learned: {
      ConstVectorMap log_sigma = std::as_const(vae_.params_).view(vae_.log_sigma_offset_, D);
      double constant = 0;
      for (Index j = 0; j < D; ++j) {
        const Real inv_var = std::exp(Real(-2) * log_sigma(j));
        constant += double(log_sigma(j)) + kHalfLog2Pi;
        for (Index s = 0; s < S; ++s) {
          auto gj = g.col(j).segment(s * B, B).array();
          acc_.segment(s * B, B).array() += (Real(-0.5) * inv_var * (x.col(j).array() - gj).square()).template cast<double>();
        }
      }
      acc_.array() -= constant;
      break;
    }
    case Likelihood::categorical: {
      const int V = c.categories;
      slot.lse.resize(R, D);
      max_.resize(R, D);
      sum_.resize(R, D);
      max_ = g.middleCols(0, D);
      for (int v = 1; v < V; ++v) max_ = max_.cwiseMax(g.middleCols(v * D, D));
      sum_.setZero();
      for (int v = 0; v < V; ++v) sum_.array() += (g.middleCols(v * D, D) - max_).array().exp();
      slot.lse.array() = max_.array() + sum_.array().log();
      for (Index i = 0; i < D; ++i)
        for (Index r = 0; r < R; ++r) {
          const Index symbol = static_cast<Index>(x(r % B, i));
          acc_(r) += double(g(r, symbol * D + i) - slot.lse(r, i));
        }
      break;
    }
  }

  if (terms_kind_ == Terms::joint) vae_.family_.add_log_prior(vae_.prior(), z, acc_);
  value = acc_.cast<Real>();
  slot.evaluated = true;
}

void Vae::VaeObjective::backward(int slot_index, const Vector& weight, Matrix* grad_z, bool parameters_too) {
  const VaeConfig& c = vae_.config_;
  const Matrix& x = *x_;
  Slot& slot = slots_.at(slot_index);
  if (!slot.evaluated) throw std::logic_error("VAE objective: backward before evaluate in this slot");
  const Matrix& g = slot.out;
  const Index B = x.rows(), D = c.input_dim, R = g.rows(), S = R / B;
  if (weight.size() != R) throw std::invalid_argument("VAE objective: weight must have one entry per row of z");
  Vector& gradient = vae_.gradient_;
  d_out_.resize(R, g.cols());

  switch (c.likelihood) {
    case Likelihood::bernoulli: {
      bernoulli_log_likelihood_backward(x, g, weight, d_out_);
      break;
    }
    case Likelihood::gaussian_fixed: {
      const Real inv_var = Real(1.0 / (c.fixed_sigma * c.fixed_sigma));
      for (Index j = 0; j < D; ++j)
        for (Index s = 0; s < S; ++s) {
          auto gj = g.col(j).segment(s * B, B).array();
          d_out_.col(j).segment(s * B, B).array() = weight.segment(s * B, B).array() * inv_var * (x.col(j).array() - gj);
        }
      break;
    }
    case Likelihood::gaussian_learned: {
      ConstVectorMap log_sigma = std::as_const(vae_.params_).view(vae_.log_sigma_offset_, D);
      VectorMap d_log_sigma(gradient.data() + vae_.log_sigma_offset_, D);
      for (Index j = 0; j < D; ++j) {
        const Real inv_var = std::exp(Real(-2) * log_sigma(j));
        double d_sigma_j = 0;
        for (Index s = 0; s < S; ++s) {
          auto gj = g.col(j).segment(s * B, B).array();
          auto w = weight.segment(s * B, B).array();
          d_out_.col(j).segment(s * B, B).array() = w * inv_var * (x.col(j).array() - gj);
          d_sigma_j += (w * (inv_var * (x.col(j).array() - gj).square() - Real(1))).template cast<double>().sum();
        }
        if (parameters_too) d_log_sigma(j) += Real(d_sigma_j);
      }
      break;
    }
    case Likelihood::categorical: {
      const int V = c.categories;
      for (int v = 0; v < V; ++v)
        d_out_.middleCols(v * D, D).array() =
            -((g.middleCols(v * D, D) - slot.lse).array().exp().colwise() * weight.array());
      for (Index i = 0; i < D; ++i)
        for (Index r = 0; r < R; ++r) d_out_(r, static_cast<Index>(x(r % B, i)) * D + i) += weight(r);
      break;
    }
  }

  if (parameters_too) {
    const Network::Accumulate mode = vae_.decoder_gradient_mode();
    try {
      vae_.decoder_.backward(slot_index, d_out_, gradient, grad_z ? &d_in_ : nullptr, mode);
    } catch (...) {  // no backward happened: the range reads as zero again, as before the call
      if (mode == Network::Accumulate::overwrite) vae_.decoder_gradient_unwritten_ = true;
      throw;
    }
  } else if (grad_z) {
    vae_.decoder_.backward_input(slot_index, d_out_, d_in_);
  } else {
    return;
  }
  if (grad_z) {
    if (c.signed_latent_input) {
      grad_z->resize(R, c.latents);
      grad_z->array() = Real(2) * d_in_.array();
    } else {
      grad_z->swap(d_in_);
    }
  }

  if (terms_kind_ == Terms::joint) {
    if (parameters_too) {
      vae_.family_.log_prior_backward(vae_.prior(), slot.z, weight, vae_.prior_gradient(), grad_z);
    } else {
      VectorMap prior_gradient = vae_.prior_gradient();
      prior_scratch_.setZero(prior_gradient.size());
      vae_.family_.log_prior_backward(vae_.prior(), slot.z, weight, VectorMap(prior_scratch_.data(), prior_scratch_.size()),
                                      grad_z);
    }
  }
}

bool Vae::VaeObjective::hessian_vector_in_z(int slot_index, const Vector& weight, const Matrix& v, Matrix& hv) {
  const VaeConfig& c = vae_.config_;
  if (c.latent != LatentKind::bernoulli) return false;
  Slot& slot = slots_.at(slot_index);
  if (!slot.evaluated) throw std::logic_error("VAE objective: hessian_vector_in_z before evaluate in this slot");
  const Index R = slot.out.rows(), B = x_->rows(), D = c.input_dim;
  if (weight.size() != R || v.rows() != R || v.cols() != slot.z.cols())
    throw std::invalid_argument("VAE objective: weight and v must match the evaluated z");
  // d_out_ = weight * dlog p(x|g)/dg, as backward() computes it (the parameter gradient discarded).
  Matrix grad_in;
  backward(slot_index, weight, &grad_in, false);
  const Matrix& g = slot.out;
  auto curvature = [&](const Matrix& r_out, Matrix& r_d_out) {
    r_d_out.resize(r_out.rows(), r_out.cols());
    switch (c.likelihood) {
      case Likelihood::bernoulli:
        r_d_out.array() = -(sigmoid_array(g.array()) * (Real(1) - sigmoid_array(g.array())) * r_out.array());
        break;
      case Likelihood::gaussian_fixed:
        r_d_out = r_out * Real(-1.0 / (c.fixed_sigma * c.fixed_sigma));
        break;
      case Likelihood::gaussian_learned: {
        ConstVectorMap log_sigma = std::as_const(vae_.params_).view(vae_.log_sigma_offset_, D);
        for (Index j = 0; j < D; ++j) r_d_out.col(j) = -std::exp(Real(-2) * log_sigma(j)) * r_out.col(j);
        break;
      }
      case Likelihood::categorical: {
        // -(diag(pi) - pi pi^T) r per pixel, pi = softmax over the pixel's symbols.
        const int V = c.categories;
        Matrix pi_r = Matrix::Zero(R, D);
        for (int s = 0; s < V; ++s) {
          const Matrix pi = (g.middleCols(s * D, D) - slot.lse).array().exp().matrix();
          r_d_out.middleCols(s * D, D).array() = -(pi.array() * r_out.middleCols(s * D, D).array());
          pi_r.array() += pi.array() * r_out.middleCols(s * D, D).array();
        }
        for (int s = 0; s < V; ++s)
          r_d_out.middleCols(s * D, D).array() += (g.middleCols(s * D, D) - slot.lse).array().exp() * pi_r.array();
        break;
      }
    }
    r_d_out.array().colwise() *= weight.array();
  };
  (void)B;
  if (c.signed_latent_input) {
    // z_in = 2 z - 1: H_z v = 2 H_in (2 v).
    vae_.decoder_.hessian_vector_input(slot_index, Real(2) * v, d_out_, curvature, hv);
    hv *= Real(2);
  } else {
    vae_.decoder_.hessian_vector_input(slot_index, v, d_out_, curvature, hv);
  }
  return true;
}

// ---- the model -----------------------------------------------------------------------------------

Vae::Vae(const VaeConfig& config, Rng& init_rng)
    : config_(checked(config)),
      encoder_(params_, "encoder", config.input_dim,
               config.family().encoder_outputs(config.latents), config.encoder),
      decoder_(params_, "decoder", config.family().sample_columns(config.latents), config.decoder_outputs(),
               config.decoder),
      family_(config.family()) {
  if (config_.likelihood == Likelihood::gaussian_learned) log_sigma_offset_ = params_.add("decoder", config_.input_dim);
  if (const Index size = family_.prior_parameters(config_.latents); size > 0) prior_offset_ = params_.add("prior", size);
  encoder_.init(init_rng);
  decoder_.init(init_rng);
  if (config_.output_bias_init.size() != 0) decoder_.bias(decoder_.layers() - 1) = config_.output_bias_init;
  if (log_sigma_offset_ >= 0) params_.view(log_sigma_offset_, config_.input_dim).setConstant(Real(std::log(config_.fixed_sigma)));
  gradient_.setZero(params_.size());
  objective_ = std::make_unique<VaeObjective>(*this);
}

Vae::~Vae() = default;

std::unique_ptr<Vae> Vae::make(const VaeConfig& config, Rng& init_rng) {
  return std::make_unique<Vae>(checked(config), init_rng);
}

void Vae::encode(int slot, const Matrix& x, StochasticNode& node) {
  if (x.cols() != config_.input_dim)
    throw std::invalid_argument(fmt::format("VAE encode: data has {} columns, the model {}", x.cols(), config_.input_dim));
  const Matrix* input = &x;
  if (config_.centre_input) {
    centred_.resize(x.rows(), x.cols());
    centred_.noalias() = x.rowwise() - config_.input_mean.transpose();
    input = &centred_;
  }
  encoder_.forward(slot, *input, encoder_out_);
  family_.node_from_encoder(encoder_out_, node);
}

void Vae::encode_backward(int slot, const NodeGradient& grad, Network::Accumulate mode) {
  encoder_.backward(slot, family_.encoder_gradient(grad, d_encoder_out_), gradient_, nullptr, mode);
}

void Vae::zero_gradient_except_encoder() {
  gradient_.resize(params_.size());
  // Zero what lies outside the encoder's and the decoder network's ranges (the prior, the learned
  // log sigma); the decoder's is settled lazily (decoder_gradient_mode / settle_decoder_gradient).
  auto zero = [this](Index from, Index to) {
    if (to > from) gradient_.segment(from, to - from).setZero();
  };
  Index first_begin = encoder_.offset(), first_end = first_begin + encoder_.size();
  Index second_begin = decoder_.offset(), second_end = second_begin + decoder_.size();
  if (second_begin < first_begin) {
    std::swap(first_begin, second_begin);
    std::swap(first_end, second_end);
  }
  zero(0, first_begin);
  zero(first_end, second_begin);
  zero(second_end, gradient_.size());
  decoder_gradient_unwritten_ = true;
}

void Vae::settle_decoder_gradient() {
  if (!decoder_gradient_unwritten_) return;
  gradient_.segment(decoder_.offset(), decoder_.size()).setZero();
  decoder_gradient_unwritten_ = false;
}

Network::Accumulate Vae::decoder_gradient_mode() {
  const bool unwritten = decoder_gradient_unwritten_;
  decoder_gradient_unwritten_ = false;
  return unwritten ? Network::Accumulate::overwrite : Network::Accumulate::add;
}

ConstVectorMap Vae::prior() const {
  if (prior_offset_ < 0) return ConstVectorMap(nullptr, 0);
  return std::as_const(params_).view(prior_offset_, family_.prior_parameters(config_.latents));
}

VectorMap Vae::prior_gradient() {
  if (prior_offset_ < 0) return VectorMap(nullptr, 0);
  return VectorMap(gradient_.data() + prior_offset_, family_.prior_parameters(config_.latents));
}

void Vae::kl(const StochasticNode& node, Matrix& kl_per_dim) { family_.kl(node, prior(), kl_per_dim, probability_); }

void Vae::kl_backward(const StochasticNode& node, const Matrix& weight, NodeGradient& grad) {
  if (weight.rows() != node.batch() || weight.cols() != node.dim())
    throw std::invalid_argument("VAE kl_backward: weight must be B x k like the node");
  family_.kl_backward(node, prior(), weight, grad, prior_gradient(), probability_);
}

Objective& Vae::objective(const Matrix& x, Objective::Terms terms) {
  objective_->bind(x, terms);
  return *objective_;
}

void Vae::log_prior(const Matrix& z, Vector& out) const {
  VectorD acc = VectorD::Zero(z.rows());
  family_.add_log_prior(prior(), z, acc);
  out = acc.cast<Real>();
}

void Vae::decoder_input(const Matrix& z, Matrix& input) const {
  if (config_.signed_latent_input)
    input = (Real(2) * z.array() - Real(1)).matrix();
  else
    input = z;
}

void Vae::decode_probabilities(const Matrix& z, Matrix& probabilities) {
  if (config_.likelihood != Likelihood::categorical)
    throw std::logic_error("decode_probabilities is for the categorical likelihood");
  const Index D = config_.input_dim;
  const int V = config_.categories;
  decoder_input(z, decoder_in_);
  decoder_.forward(Network::kInferenceSlot, decoder_in_, probabilities);
  Matrix max = probabilities.middleCols(0, D);
  for (int v = 1; v < V; ++v) max = max.cwiseMax(probabilities.middleCols(v * D, D));
  Matrix sum = Matrix::Zero(z.rows(), D);
  for (int v = 0; v < V; ++v) {
    probabilities.middleCols(v * D, D).array() = (probabilities.middleCols(v * D, D) - max).array().exp();
    sum += probabilities.middleCols(v * D, D);
  }
  for (int v = 0; v < V; ++v) probabilities.middleCols(v * D, D).array() /= sum.array();
}

void Vae::decode_mean(const Matrix& z, Matrix& mean) {
  const Index D = config_.input_dim;
  if (config_.likelihood == Likelihood::categorical) {
    decode_probabilities(z, decoder_out_);
    mean.setZero(z.rows(), D);
    for (int v = 1; v < config_.categories; ++v) mean += Real(v) * decoder_out_.middleCols(v * D, D);
    return;
  }
  decoder_input(z, decoder_in_);
  decoder_.forward(Network::kInferenceSlot, decoder_in_, mean);
  if (config_.likelihood == Likelihood::bernoulli) mean.array() = sigmoid_array(mean.array());
}

void Vae::sample_prior(Index n, Rng& rng, Matrix& z) const {
  family_.sample_prior(prior(), n, config_.latents, rng, z);
}

void Vae::sample_data(const Matrix& z, Rng& rng, Matrix& x) {
  const Index D = config_.input_dim, R = z.rows();
  switch (config_.likelihood) {
    case Likelihood::bernoulli: {
      decode_mean(z, decoder_out_);
      x.resize(R, D);
      rng.fill_uniform(x);
      x.array() = (x.array() < decoder_out_.array()).cast<Real>();
      return;
    }
    case Likelihood::gaussian_fixed:
    case Likelihood::gaussian_learned: {
      decode_mean(z, decoder_out_);
      x.resize(R, D);
      rng.fill_normal(x);
      if (config_.likelihood == Likelihood::gaussian_fixed) {
        x = decoder_out_ + Real(config_.fixed_sigma) * x;
      } else {
        ConstVectorMap log_sigma = std::as_const(params_).view(log_sigma_offset_, D);
        x = decoder_out_ + (x.array().rowwise() * log_sigma.array().exp().transpose()).matrix();
      }
      return;
    }
    case Likelihood::categorical: {
      decode_probabilities(z, decoder_out_);
      x.resize(R, D);
      const int V = config_.categories;
      for (Index i = 0; i < D; ++i)
        for (Index r = 0; r < R; ++r) {
          const double u = rng.uniform();
          double cumulative = 0;
          int symbol = V - 1;
          for (int v = 0; v < V; ++v) {
            cumulative += double(decoder_out_(r, v * D + i));
            if (u < cumulative) {
              symbol = v;
              break;
            }
          }
          x(r, i) = Real(symbol);
        }
      return;
    }
  }
}

}  // namespace gradest
