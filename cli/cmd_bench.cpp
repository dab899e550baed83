// gradest bench: throughput of the full training step (forward, estimator, backward, optimiser)
// for the three models of ../shared/bench (the PyTorch peer), the probe's draw rate, and the step's
// FLOP rate against two ceilings measured on the same thread: the build's GEMM (blas::gemm) on the
// step's own products, and a register-only multiply-add peak.
//
// Method: the step is gradest's own training loop (train::run_training) on 1000 random binary
// images (like the peer; binarize none), evaluation only at the start and the end (not timed:
// steps_per_second counts training steps only), after a warm-up run. Each count N of
// "--processes" (default 1 and all cores) is a table row: N independent training runs at once in
// N child processes (the way sweeps use the cores; a step itself is single-threaded), their rate
// per process and in total.
#include <H5Cpp.h>
#include <fmt/format.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include <Eigen/Core>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <thread>

#include "estimators/estimator.hpp"
#include "cli/commands.hpp"
#include "models/blas.hpp"
#include "run/probe.hpp"
#include "sweep/process_pool.hpp"
#include "run/train.hpp"

namespace gradest::cli {

namespace {

struct BenchModel {
  std::string_view name;
  std::vector<std::pair<std::string, std::string>> settings;
  // Dense layers (in, out) per pass; the decoder runs once per sample.
  std::vector<std::pair<int, int>> encoder, decoder;
  int batch, samples;
};

const std::vector<BenchModel>& bench_models() {
  static const std::vector<BenchModel> models = {
      {"bvae-linear",
       {{"model", "bernoulli-vae"}, {"encoder", "linear"}, {"decoder", "linear"}, {"latents", "200"},
        {"estimator", "reinforce-loo"}, {"samples", "2"}, {"batch", "50"}, {"lr", "1e-4"}},
       {{784, 200}}, {{200, 784}}, 50, 2},
      {"bvae-nonlinear",
       {{"model", "bernoulli-vae"}, {"encoder", "200,200"}, {"decoder", "200,200"}, {"activation", "leaky_relu"},
        {"latents", "200"}, {"estimator", "reinforce-loo"}, {"samples", "2"}, {"batch", "50"}, {"lr", "1e-4"}},
       {{784, 200}, {200, 200}, {200, 200}}, {{200, 200}, {200, 200}, {200, 784}}, 50, 2},
      {"gvae",
       {{"model", "gaussian-vae"}, {"encoder", "200,200"}, {"decoder", "200,200"}, {"activation", "tanh"},
        {"latents", "20"}, {"estimator", "pathwise"}, {"samples", "1"}, {"batch", "100"}, {"lr", "1e-3"}},
       {{784, 200}, {200, 200}, {200, 40}}, {{20, 200}, {200, 200}, {200, 784}}, 100, 1},
  };
  return models;
}

const BenchModel& find_model(const std::string& name) {
  for (const auto& m : bench_models())
    if (m.name == name) return m;
  throw UsageError(fmt::format("unknown bench model '{}'; allowed: bvae-linear, bvae-nonlinear, gvae", name));
}

// One dense product of the step, as Network::forward / Network::backward call it (blas::gemm):
// m x k times k x n, with the transposes the network passes.
struct Product {
  Index m, k, n;
  blas::Op op_a, op_b;
  double flops() const { return 2.0 * double(m) * double(k) * double(n); }
};

// The step's dense products, layer by layer with R rows (the batch; batch x samples in the
// decoder, which runs once on all samples): forward R x in x out (h W), weight gradient
// in x R x out (h^T delta), input gradient R x out x in (delta W^T). The first encoder layer never
// needs its input gradient; the first decoder layer needs it only for estimators that use df/dz
// (pathwise; not the score function on Bernoulli latents).
std::vector<Product> step_products(const BenchModel& m) {
  using blas::Op;
  std::string estimator;
  for (const auto& [key, value] : m.settings)
    if (key == "estimator") estimator = value;
  const bool needs_dz = find_estimator(estimator)->info->needs_dz;
  std::vector<Product> products;
  auto add_network = [&](const std::vector<std::pair<int, int>>& layers, Index rows, bool first_input_gradient) {
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const Index in = layers[i].first, out = layers[i].second;
      products.push_back({rows, in, out, Op::none, Op::none});
      products.push_back({in, rows, out, Op::transpose, Op::none});
      if (i > 0 || first_input_gradient) products.push_back({rows, out, in, Op::none, Op::transpose});
    }
  };
  add_network(m.encoder, m.batch, false);
  add_network(m.decoder, Index(m.batch) * m.samples, needs_dz);
  return products;
}

double step_flops(const BenchModel& m) {
  double flops = 0;
  for (const auto& p : step_products(m)) flops += p.flops();
  return flops;
}

// GFLOP/s of the step's own products (step_products) through the build's GEMM (blas::gemm, as the
// network calls it), on this thread: the list run back to back for about `seconds`, best of three
// rounds. The ceiling a step made only of these products could reach.
double step_shape_gemm_gflops(const BenchModel& m, double seconds) {
  struct Operands {
    Matrix a, b, c;
  };
  const auto products = step_products(m);
  std::vector<Operands> operands;
  double flops = 0;
  for (const auto& p : products) {
    Operands o;
    o.a = p.op_a == blas::Op::none ? Matrix::Random(p.m, p.k) : Matrix::Random(p.k, p.m);
    o.b = p.op_b == blas::Op::none ? Matrix::Random(p.k, p.n) : Matrix::Random(p.n, p.k);
    o.c = Matrix::Zero(p.m, p.n);
    operands.push_back(std::move(o));
    flops += p.flops();
  }
  auto run_all = [&] {
    for (std::size_t i = 0; i < products.size(); ++i)
      blas::gemm(products[i].op_a, operands[i].a, products[i].op_b, operands[i].b, Real(0), operands[i].c);
  };
  run_all();
  double best = 0;
  for (int round = 0; round < 3; ++round) {
    const auto start = std::chrono::steady_clock::now();
    std::int64_t reps = 0;
    double elapsed = 0;
    do {
      run_all();
      ++reps;
      elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    } while (elapsed < seconds / 3);
    best = std::max(best, flops * double(reps) / elapsed / 1e9);
  }
  return best;
}

data::DataSplits random_binary_images(Index n, Index d) {
  Rng rng(12345);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(n * d));
  for (auto& b : bytes) b = rng.uniform() < 0.3 ? 255 : 0;
  data::DataSplits splits;
  splits.train = data::Dataset::from_bytes(n, d, bytes);
  splits.test = splits.train.slice(0, 100);
  splits.source = "random-binary";
  return splits;
}

train::TrainConfig bench_config(const BenchModel& m, std::int64_t steps) {
  train::TrainConfig config;
  for (const auto& [key, value] : m.settings) train::set_config_value(config, key, value);
  train::set_config_value(config, "binarize", "none");
  train::set_config_value(config, "steps", std::to_string(steps));
  train::set_config_value(config, "eval-every", std::to_string(steps));
  train::set_config_value(config, "eval-subset", "100");
  train::set_config_value(config, "eval-train-subset", "100");
  train::set_config_value(config, "iwae-samples", "1");
  train::set_config_value(config, "final-eval-full", "false");
  std::string error;
  if (!config.valid(&error)) throw std::runtime_error("bench configuration: " + error);
  config.resolve();
  return config;
}

// Steps per second of training steps only, from a run in an in-memory HDF5 file.
double time_training(const BenchModel& m, const data::DataSplits& data, std::int64_t steps) {
  H5::FileAccPropList fapl;
  fapl.setCore(1 << 20, false);
  H5::H5File file("gradest-bench.h5", H5F_ACC_TRUNC, H5::FileCreatPropList::DEFAULT, fapl);
  H5::Group group = file.createGroup("run");
  const auto result = train::run_training(bench_config(m, steps), data, group);
  return result.last.steps_per_second;
}

double measure_step_rate(const BenchModel& m, double seconds) {
  const auto data = random_binary_images(1000, 784);
  const double warm = time_training(m, data, 50);
  const auto steps = std::max<std::int64_t>(100, static_cast<std::int64_t>(warm * seconds));
  return time_training(m, data, steps);
}

// GFLOP/s of a large single-precision (Real) matrix product through the build's GEMM on this thread.
double gemm_gflops() {
  const Index n = 1024;
  Matrix a = Matrix::Random(n, n), b = Matrix::Random(n, n), c(n, n);
  blas::gemm(blas::Op::none, a, blas::Op::none, b, Real(0), c);
  const auto start = std::chrono::steady_clock::now();
  int reps = 0;
  double elapsed = 0;
  do {
    blas::gemm(blas::Op::none, a, blas::Op::none, b, Real(0), c);
    ++reps;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (elapsed < 1.0);
  return 2.0 * n * n * n * reps / elapsed / 1e9 + 0 * c(0, 0);
}

// GFLOP/s of multiply-adds on registers only (12 independent chains of 16 lanes, no memory
// traffic): the arithmetic ceiling of one core in Real precision, against which the GEMM rate and
// the step's rate can be read.
// kChains independent accumulators of one vector register each, enough to cover the FMA latency (4
// cycles) times the FMA ports (2) of current x86 cores, so the loop is throughput-bound; explicit FMA
// instructions (ISO C++ mode does not contract a * b + c into an FMA); the chain loop unrolled and the
// function kept out of line so the accumulators stay in registers (inlined into run_bench they were
// spilled, and the "peak" read 83 GFLOP/s against a 143 GFLOP/s GEMM; now 209).
#if defined(__AVX512F__)
using PeakVec = __m512;
constexpr int kPeakLanes = 16;
inline PeakVec peak_fma(PeakVec x, PeakVec a, PeakVec b) { return _mm512_fmadd_ps(x, a, b); }
inline PeakVec peak_set1(float v) { return _mm512_set1_ps(v); }
inline double peak_sum(PeakVec v) { return double(_mm512_reduce_add_ps(v)); }
#elif defined(__FMA__) && defined(__AVX__)
using PeakVec = __m256;
constexpr int kPeakLanes = 8;
inline PeakVec peak_fma(PeakVec x, PeakVec a, PeakVec b) { return _mm256_fmadd_ps(x, a, b); }
inline PeakVec peak_set1(float v) { return _mm256_set1_ps(v); }
inline double peak_sum(PeakVec v) {
  alignas(32) float out[8];
  _mm256_store_ps(out, v);
  double total = 0;
  for (float x : out) total += x;
  return total;
}
#else
using PeakVec = float;
constexpr int kPeakLanes = 1;
inline PeakVec peak_fma(PeakVec x, PeakVec a, PeakVec b) { return std::fma(x, a, b); }
inline PeakVec peak_set1(float v) { return v; }
inline double peak_sum(PeakVec v) { return double(v); }
#endif

[[gnu::noinline]] double fma_peak_gflops() {
  // 16 chains in 32 AVX-512 registers; 12 in AVX2's 16 (with a and b beside them).
  constexpr int kChains = kPeakLanes == 16 ? 16 : 12;
  PeakVec acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = peak_set1(0.001f * float(i));
  volatile float a_in = 0.999999f, b_in = 1e-7f;
  const PeakVec a = peak_set1(a_in), b = peak_set1(b_in);
  const auto start = std::chrono::steady_clock::now();
  std::int64_t iterations = 0;
  double elapsed = 0;
  do {
    for (int k = 0; k < 100000; ++k) {
#pragma GCC unroll 16
      for (int i = 0; i < kChains; ++i) acc[i] = peak_fma(acc[i], a, b);
    }
    iterations += 100000;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (elapsed < 0.5);
  double sink = 0;
  for (int i = 0; i < kChains; ++i) sink += peak_sum(acc[i]);
  volatile double keep = sink;
  (void)keep;
  return 2.0 * kChains * kPeakLanes * double(iterations) / elapsed / 1e9;
}

double probe_draws_per_second(int draws) {
  const BenchModel& m = find_model("bvae-linear");
  const auto data = random_binary_images(1000, 784);
  const auto config = bench_config(m, 1);
  Rng init = Rng::stream(1, {1});
  auto vae = Vae::make(train::make_vae_config(config, data), init);
  std::string error;
  auto estimator = make_estimator("reinforce-loo", config.estimator_options, LatentKind::bernoulli, &error);
  Matrix x;
  data.train.rows(0, 50, x);
  const auto start = std::chrono::steady_clock::now();
  probe::draw_estimates(*vae, x, *estimator, draws, 1, 0, "bench");
  return draws / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int run_bench(const std::vector<std::string>& args, const Context&) {
  po::options_description options("bench options");
  std::string models_text;
  std::string processes_text;
  double seconds = 3;
  int draws = 1000;
  options.add_options()
      ("models", po::value(&models_text)->default_value("bvae-linear,bvae-nonlinear,gvae"), "bvae-linear, bvae-nonlinear, gvae")
      ("processes", po::value(&processes_text)->default_value("1,0"),
       "list: independent training runs at once, one table row each (0: all cores)")
      ("seconds", po::value(&seconds)->default_value(3.0), "timed seconds per model")
      ("probe-draws", po::value(&draws)->default_value(1000), "R of the probe benchmark (0: skip)")
      ("single", po::value<std::string>(), "internal: time one model in this process and print steps/s");
  po::variables_map vm;
  if (!parse(args, options, nullptr, vm)) {
    print_help("bench", "[--models a,b] [--processes 1,0] [--seconds S]", options);
    return 0;
  }
  if (vm.count("single")) {
    std::cout << fmt::format("{:.6f}\n", measure_step_rate(find_model(vm["single"].as<std::string>()), seconds));
    return 0;
  }
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<int> process_counts;
  const auto process_list = parse_int_list(processes_text, "processes");
  require_distinct(process_list, "processes", "count");
  for (const auto n : process_list) {
    if (n < 0 || n > 1024)
      throw UsageError(fmt::format("--processes takes counts in 1..1024 (0: all {} cores), got {}", cores, n));
    process_counts.push_back(n == 0 ? cores : int(n));
  }
  if (!(seconds > 0)) throw UsageError(fmt::format("--seconds must be > 0, got {}", seconds));
  if (draws < 0 || draws == 1) throw UsageError(fmt::format("--probe-draws must be 0 or >= 2, got {}", draws));
  std::vector<const BenchModel*> models;
  const auto model_names = split(models_text, ',');
  require_distinct(model_names, "models", "model");
  for (const auto& name : model_names) models.push_back(&find_model(name));

  const double gemm = gemm_gflops();
  const double peak = fma_peak_gflops();
  std::cout << fmt::format("gradest bench: {} precision, 1 thread per process ({} BLAS thread), {} cores; products "
                           "by {}\nper thread: {}x{}x{} GEMM {:.1f} GFLOP/s, register-only multiply-add peak {:.1f} "
                           "GFLOP/s\n",
                           sizeof(Real) == 4 ? "float32" : "float64", blas::threads(), cores, blas::library(), 1024,
                           1024, 1024, gemm, peak);
  if (peak < gemm)
    std::cout << fmt::format("note: the multiply-add loop ran below the GEMM ({:.1f} < {:.1f} GFLOP/s): the core was "
                             "disturbed while it ran; read the shares against the GEMM\n",
                             peak, gemm);
  // Per model, the ceilings the step is read against: "GEMM@shapes", the step's own products (the
  // same shapes and transposes, step_products) through the build's GEMM, back to back on this thread;
  // and the multiply-add peak. "of GEMM" and "of peak": the step's FLOP rate as a share of each (all
  // the step's other work counted as overhead). "bound": the steps/s if every FLOP of the step ran at
  // the GEMM@shapes rate and everything else were free. With several processes the shares are
  // against the one-thread ceilings measured with the other cores idle.
  std::cout << fmt::format("{:<15} {:>9} {:>13} {:>12} {:>10} {:>8} {:>12} {:>8} {:>8} {:>8}\n", "model", "processes",
                           "steps/s/proc", "steps/s all", "MFLOP/step", "GFLOP/s", "GEMM@shapes", "of GEMM", "of peak",
                           "bound");
  for (const auto* m : models) {
    const double shapes = step_shape_gemm_gflops(*m, std::min(1.5, std::max(0.3, seconds / 2)));
    for (const int processes : process_counts) {
      std::vector<double> rates(static_cast<std::size_t>(processes), 0.0);
      if (processes == 1) {
        rates[0] = measure_step_rate(*m, seconds);
      } else {
        std::vector<std::thread> threads;
        for (int p = 0; p < processes; ++p)
          threads.emplace_back([&, p] {
            const auto out = sweep::run_and_capture({"bench", "--single", std::string(m->name), "--seconds",
                                                     fmt::format("{}", seconds)});
            double rate = 0;
            if (out.exit_status == 0) std::sscanf(out.output.c_str(), "%lf", &rate);
            rates[static_cast<std::size_t>(p)] = rate;
          });
        for (auto& t : threads) t.join();
        for (const double r : rates)
          if (!(r > 0)) throw std::runtime_error(fmt::format("bench: a {} child process failed", m->name));
      }
      double total = 0;
      for (double r : rates) total += r;
      const double per = total / double(rates.size());
      const double gflops = step_flops(*m) * per / 1e9;
      std::cout << fmt::format("{:<15} {:>9} {:>13.1f} {:>12.1f} {:>10.1f} {:>8.1f} {:>12.1f} {:>7.0f}% {:>7.0f}% {:>8.0f}\n",
                               m->name, processes, per, total, step_flops(*m) / 1e6, gflops, shapes,
                               100.0 * gflops / shapes, 100.0 * gflops / peak, shapes * 1e9 / step_flops(*m))
                << std::flush;
    }
  }
  if (draws > 0) {
    const double rate = probe_draws_per_second(draws);
    std::cout << fmt::format("probe: bvae-linear reinforce-loo S=2, batch 50, R={}: {:.0f} gradient draws/s ({:.0f}/min), 1 thread\n",
                             draws, rate, 60 * rate);
  }
  return 0;
}

}  // namespace gradest::cli
