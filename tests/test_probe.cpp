// The gradient probe (run/probe.hpp): Welford moments, the summaries' definitions, the HDF5
// variance schema (pinned here), basket parsing, and the command-line paths (train --probe-*,
// variance, check-unbiased) including their one-line refusals.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <H5Cpp.h>

#include <cmath>
#include <filesystem>
#include <set>
#include <string>

#include "cli/cli.hpp"
#include "store/h5io.hpp"
#include "run/probe.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;

namespace gradest {
namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() / fmt::format("gradest-probe-{}-{}", ::getpid(), counter++);
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

int run(const std::string& arguments) {
  const std::string command = std::string(GRADEST_BINARY) + " " + arguments + " > /dev/null 2>&1";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::set<std::string> members(const H5::Group& group) {
  std::set<std::string> names;
  for (hsize_t i = 0; i < group.getNumObjs(); ++i) names.insert(group.getObjnameByIdx(i));
  return names;
}

}  // namespace

TEST_CASE("probe: Welford moments equal the two-pass mean and unbiased variance", "[probe]") {
  Rng rng = Rng::stream(testing::seed(), {stable_hash("welford")});
  const Index n = 7, R = 500;
  MatrixD draws(R, n);
  probe::GradientMoments moments;
  Vector g(n);
  for (Index r = 0; r < R; ++r) {
    for (Index i = 0; i < n; ++i) g(i) = Real(3.0 + double(i) + 0.1 * double(i + 1) * rng.normal());
    draws.row(r) = g.cast<double>().transpose();
    moments.add(g);
  }
  const VectorD mean = draws.colwise().mean().transpose();
  const VectorD variance = (draws.rowwise() - mean.transpose()).array().square().colwise().sum().transpose() / double(R - 1);
  CHECK(moments.count() == R);
  CHECK((moments.mean() - mean).cwiseAbs().maxCoeff() < 1e-12 * mean.cwiseAbs().maxCoeff());
  CHECK((moments.variance() - variance).cwiseAbs().maxCoeff() < 1e-9 * variance.maxCoeff());
  // A draw added with a scale (the probe's 1/B) equals the scaled draw, to the bit.
  probe::GradientMoments scaled, copied;
  for (int r = 0; r < 3; ++r) {
    Vector raw(3);
    raw << Real(50 + r), Real(-3), Real(0.7 * r);
    const Real scale = Real(1) / Real(50);
    scaled.add(raw, scale);
    copied.add(Vector(raw * scale));
  }
  CHECK(scaled.mean() == copied.mean());
  CHECK(scaled.variance() == copied.variance());
}

TEST_CASE("probe: moments folded in blocks match two passes at any count and a large offset", "[probe]") {
  // GradientMoments keeps draws and folds them in blocks (run/probe.hpp): counts that are not a
  // multiple of the block, fewer draws than a block, and coordinates whose spread is 1e-6 of their
  // size (cancellation would show there first).
  for (Index R : {Index(2), Index(7), Index(8), Index(9), Index(17), Index(203)}) {
    Rng rng = Rng::stream(testing::seed(), {stable_hash("blocked moments"), std::uint64_t(R)});
    const Index n = 5;
    MatrixD draws(R, n);
    probe::GradientMoments moments;
    Vector g(n);
    for (Index r = 0; r < R; ++r) {
      for (Index i = 0; i < n; ++i) g(i) = Real((i == 0 ? 1e3 : 1.0) + (i == 0 ? 1e-3 : 0.5) * rng.normal());
      draws.row(r) = g.cast<double>().transpose();
      moments.add(g);
      CHECK(moments.count() == r + 1);
    }
    const VectorD mean = draws.colwise().mean().transpose();
    const VectorD variance = (draws.rowwise() - mean.transpose()).array().square().colwise().sum().transpose() / double(R - 1);
    INFO("R = " << R);
    CHECK(((moments.mean() - mean).array().abs() <= 1e-13 * mean.array().abs()).all());
    CHECK(((moments.variance() - variance).array().abs() <= 1e-9 * variance.array()).all());
  }
}

TEST_CASE("probe: taking a draw's buffer gives the moments of copying it, to the bit", "[probe]") {
  // take() swaps the draw's storage into the block (the probe's path); add() copies it.
  Rng rng = Rng::stream(testing::seed(), {stable_hash("take")});
  probe::GradientMoments copied, taken;
  const Real scale = Real(1) / Real(50);
  for (int r = 0; r < 21; ++r) {  // two full blocks and a partial one
    Vector g(13);
    for (Index i = 0; i < g.size(); ++i) g(i) = Real(rng.normal() * (1 + i));
    copied.add(g, scale);
    Vector buffer = g;
    taken.take(buffer, scale);
    CHECK(buffer.size() == g.size());  // the caller keeps a vector of the draw's size
  }
  CHECK(taken.count() == copied.count());
  CHECK((taken.mean().array() == copied.mean().array()).all());
  CHECK((taken.variance().array() == copied.variance().array()).all());
}

TEST_CASE("probe: summaries follow their definitions", "[probe]") {
  Parameters layout;
  layout.add("encoder", 2);
  layout.add("decoder", 2);
  probe::DrawResult draws;
  // Draws alternate between two vectors: mean (1, 0, 2, 5), variance R/(R-1) * (1, 4, 0, 0).
  const std::int64_t R = 100;
  Vector a(4), b(4);
  a << 2, -2, 2, 5;
  b << 0, 2, 2, 5;
  for (std::int64_t r = 0; r < R; ++r) draws.moments.add(r % 2 ? a : b);
  draws.evals_per_estimate = 2;
  VectorD exact(4);
  exact << 1, 0.5, 2, 5;
  const probe::ProbeSummary s = probe::summarise(layout, draws, &exact);
  const double c = double(R) / double(R - 1);
  const auto& enc = *s.group("encoder");
  const auto& dec = *s.group("decoder");
  CHECK(enc.trace == Approx(5 * c));
  CHECK(enc.mean_var == Approx(2.5 * c));
  CHECK(enc.snr == Approx(0.5 * (1 / std::sqrt(c))));  // |1|/1 and |0|/2, over sqrt(c)
  CHECK(enc.bias_norm == Approx(0.5));
  CHECK(enc.max_abs_z == Approx(0.5 / std::sqrt(4 * c / double(R))));
  CHECK(enc.mse == Approx(0.25 + 5 * c));
  CHECK(dec.trace == 0);
  CHECK(std::isnan(dec.snr));  // no coordinate with variance
  CHECK(dec.max_abs_z == 0);
  CHECK(s.group("prior")->size == 0);
  CHECK(std::isnan(s.group("prior")->trace));
  // A deterministic coordinate that disagrees beyond round-off is an infinite-looking z.
  exact(3) = 5.01;
  CHECK(probe::summarise(layout, draws, &exact).max_abs_z > 100);  // 0.01 / (floor 5e-5 in float32)
  const probe::ProbeSummary no_exact = probe::summarise(layout, draws, nullptr);
  CHECK(std::isnan(no_exact.bias_norm));
  CHECK(std::isnan(no_exact.group("encoder")->bias_norm));
}

TEST_CASE("probe: run_probe on a small Bernoulli VAE and the HDF5 variance schema", "[probe][hdf5]") {
  auto instance = probe::make_small_instance(LatentKind::bernoulli, 3, 4, testing::seed());
  EstimatorOptions defaults;
  const auto basket = probe::parse_basket("reinforce, reinforce-loo:3, exact", LatentKind::bernoulli, defaults);
  REQUIRE(basket.size() == 3);
  CHECK(basket[1].label == "reinforce-loo-S3");
  CHECK(basket[1].options.samples == 3);
  probe::ProbeOptions options;
  options.draws = 50;
  options.seed = testing::seed();
  const Vector before = instance.vae->parameters().values();
  const auto summaries = probe::run_probe(*instance.vae, instance.x, basket, options, 7);
  CHECK(instance.vae->parameters().values() == before);  // frozen
  REQUIRE(summaries.size() == 3);
  CHECK(summaries[0].group("encoder")->trace > 0);
  CHECK(summaries[0].evals_per_estimate == 1);
  CHECK(summaries[1].evals_per_estimate == 3);
  CHECK(std::isfinite(summaries[0].bias_norm));
  CHECK(summaries[2].group("encoder")->trace == 0);  // exact: zero variance ...
  CHECK(summaries[2].max_abs_z < 1);                   // ... and agrees with the reference to round-off
  CHECK(summaries[2].evals_per_estimate == 8);         // 2^3

  // The same draws again: reproducible.
  const auto again = probe::run_probe(*instance.vae, instance.x, basket, options, 7);
  CHECK(again[0].group("encoder")->trace == summaries[0].group("encoder")->trace);

  TempDir dir;
  const std::string path = (dir.path / "variance.h5").string();
  {
    H5::H5File file(path, H5F_ACC_TRUNC);
    probe::VarianceWriter writer(h5::ensure_group(file, "/runs/abc"));
    for (const auto& s : summaries) writer.append(s);
    writer.append(summaries[0]);
  }
  H5::H5File file(path, H5F_ACC_RDONLY);
  H5::Group variance = file.openGroup("/runs/abc/variance");
  CHECK(members(variance) == std::set<std::string>{"reinforce", "reinforce-loo-S3", "exact"});
  H5::Group g = variance.openGroup("reinforce");
  const std::set<std::string> expected = {
      "step", "trace_encoder", "trace_decoder", "trace_prior", "mean_var_encoder", "mean_var_decoder",
      "mean_var_prior", "snr_encoder", "snr_decoder", "snr_prior", "bias_norm", "max_abs_z", "bias_norm_encoder",
      "bias_norm_decoder", "bias_norm_prior", "max_abs_z_encoder", "max_abs_z_decoder", "max_abs_z_prior",
      "mse_encoder", "mse_decoder", "mse_prior", "evals_per_estimate", "seconds_per_estimate",
      "trace_x_evals_encoder", "trace_x_evals_decoder"};
  CHECK(members(g) == expected);
  const auto step = h5::read_vector(g, "step");
  CHECK(step == std::vector<double>{7, 7});
  CHECK(h5::read_vector(g, "trace_encoder")[0] == Approx(summaries[0].group("encoder")->trace));
  CHECK(h5::read_string_attribute(g, "estimator") == "reinforce");
  CHECK(h5::read_string_attribute(g, "normalisation").find("per-example") != std::string::npos);
  CHECK(h5::read_vector(variance.openGroup("exact"), "step").size() == 1);
}

TEST_CASE("probe: without an exact reference the bias columns are NaN", "[probe]") {
  auto instance = probe::make_small_instance(LatentKind::bernoulli, 3, 2, testing::seed());
  probe::ProbeOptions options;
  options.draws = 10;
  options.exact = false;
  const auto summaries = probe::run_probe(*instance.vae, instance.x,
                                          probe::parse_basket("arm", LatentKind::bernoulli, {}), options, 0);
  CHECK(std::isnan(summaries[0].bias_norm));
  CHECK(std::isnan(summaries[0].max_abs_z));
  CHECK(std::isfinite(summaries[0].group("decoder")->trace));
}

TEST_CASE("probe: baskets are parsed once and bad ones refused with the allowed names", "[probe]") {
  EstimatorOptions defaults;
  defaults.samples = 2;
  const auto basket = probe::parse_basket("reinforce,vimco,arm", LatentKind::bernoulli, defaults);
  CHECK(basket[0].options.samples == 2);  // the training run's samples
  CHECK(basket[1].options.samples == 2);
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const gradest::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message([] { probe::parse_basket("nope", LatentKind::bernoulli, {}); }).find("allowed") != std::string::npos);
  CHECK(message([] { probe::parse_basket("pathwise", LatentKind::bernoulli, {}); }).find("pathwise") != std::string::npos);
  CHECK(message([] { probe::parse_basket("arm,arm", LatentKind::bernoulli, {}); }).find("twice") != std::string::npos);
  CHECK(message([] { probe::parse_basket("arm:0", LatentKind::bernoulli, {}); }).find("samples") != std::string::npos);
  CHECK(message([] { probe::parse_basket("", LatentKind::bernoulli, {}); }).find("no probe") != std::string::npos);
}

TEST_CASE("probe: command lines: train --probe-*, variance, check-unbiased and their refusals", "[probe][cli]") {
  TempDir dir;
  const std::string run_file = (dir.path / "run.h5").string();
  const std::string train = fmt::format(
      "train --model bernoulli-vae --data synthetic --synthetic-latents 4 --synthetic-dim 16 --synthetic-train 200 "
      "--synthetic-test 50 --latents 4 --encoder linear --estimator reinforce-loo --samples 2 --batch 10 --steps 20 "
      "--eval-every 10 --iwae-samples 5 --quiet --seed {} --out {}",
      testing::seed(), run_file);
  CHECK(run(train + " --probe-every 10 --probe-estimators nope") == 2);
  CHECK(run(train + " --probe-every 0 --probe-estimators arm") == 2);
  CHECK(run(train + " --probe-every 10 --probe-draws 1") == 2);
  CHECK_FALSE(fs::exists(run_file));
  REQUIRE(run(train + " --probe-every 10 --probe-estimators reinforce-loo,arm,disarm --probe-draws 20") == 0);
  {
    H5::H5File file(run_file, H5F_ACC_RDONLY);
    H5::Group runs = file.openGroup("/runs");
    const std::string id = runs.getObjnameByIdx(0);
    H5::Group variance = runs.openGroup(id).openGroup("variance");
    CHECK(members(variance) == std::set<std::string>{"reinforce-loo", "arm", "disarm"});
    H5::Group arm = variance.openGroup("arm");
    CHECK(h5::read_vector(arm, "step") == std::vector<double>{0, 10, 20});
    CHECK(std::isfinite(h5::read_vector(arm, "bias_norm")[0]));  // 4 latents: exact by enumeration
    CHECK(h5::read_vector(arm, "evals_per_estimate")[0] == 4);    // S = 2 pairs
  }
  const std::string out = (dir.path / "variance.h5").string();
  CHECK(run(fmt::format("variance --from {} --estimators nope --out {}", run_file, out)) == 2);
  CHECK(run(fmt::format("variance --from {} --estimators arm --draws 1 --out {}", run_file, out)) == 2);
  CHECK(run(fmt::format("variance --from {}/missing.h5 --estimators arm --out {}", dir.path.string(), out)) == 2);
  CHECK_FALSE(fs::exists(out));
  REQUIRE(run(fmt::format("variance --from {} --estimators reinforce,vimco:2 --draws 30 --out {}", run_file, out)) == 0);
  {
    H5::H5File file(out, H5F_ACC_RDONLY);
    H5::Group runs = file.openGroup("/runs");
    H5::Group variance = runs.openGroup(runs.getObjnameByIdx(0)).openGroup("variance");
    CHECK(members(variance) == std::set<std::string>{"reinforce", "vimco-S2"});
    CHECK(h5::read_vector(variance.openGroup("reinforce"), "step") == std::vector<double>{20});
  }
  CHECK(run(fmt::format("variance --from {} --estimators arm --draws 30 --out {}", run_file, out)) == 2);  // exists

  CHECK(run("check-unbiased --model nope --estimator arm") == 2);
  CHECK(run("check-unbiased --model bernoulli-vae --estimator nope") == 2);
  CHECK(run("check-unbiased --model bernoulli-vae --estimator pathwise") == 2);
  CHECK(run("check-unbiased --model x2 --estimator iwae") == 2);
  CHECK(run("check-unbiased --model bernoulli-vae --estimator vimco --samples 8 --latents 3") == 2);  // 2^24
  CHECK(run("check-unbiased --model bernoulli-vae --estimator arm --latents 9") == 2);
  CHECK(run("check-unbiased --model bernoulli-vae --estimator arm --draws 1") == 2);
}

}  // namespace gradest

#ifdef GRADEST_BINARY
TEST_CASE("probe: gradest variance --write-vectors writes the vectors behind the table", "[probe][hdf5][cli]") {
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("gradest-vectors-{}", ::getpid());
  std::filesystem::create_directories(dir);
  const std::string run = (dir / "run.h5").string(), out = (dir / "v.h5").string(), plain = (dir / "plain.h5").string();
  REQUIRE(gradest::testing::run_gradest(fmt::format("train --model bernoulli-vae --data synthetic --latents 3 --steps 20 --quiet --out {}", run)).status == 0);
  const auto r = gradest::testing::run_gradest(fmt::format(
      "variance --from {} --estimators reinforce-loo:2,disarm --draws 500 --write-vectors --out {}", run, out));
  INFO(r.output);
  REQUIRE(r.status == 0);
  REQUIRE(gradest::testing::run_gradest(fmt::format("variance --from {} --estimators disarm --draws 50 --out {}", run, plain)).status == 0);
  H5::H5File file(out, H5F_ACC_RDONLY);
  const std::string id = file.openGroup("/runs").getObjnameByIdx(0);
  H5::Group vectors = file.openGroup("/runs/" + id + "/vectors");
  auto read = [&](const std::string& path) {
    H5::DataSet ds = file.openDataSet(path);
    hsize_t n = 0;
    ds.getSpace().getSimpleExtentDims(&n);
    std::vector<double> v(n);
    ds.read(v.data(), H5::PredType::NATIVE_DOUBLE);
    return v;
  };
  const std::string base = "/runs/" + id + "/vectors/";
  std::vector<std::int64_t> sizes(3);
  file.openDataSet(base + "group_size").read(sizes.data(), H5::PredType::NATIVE_INT64);
  const std::size_t P = std::size_t(sizes[0] + sizes[1] + sizes[2]);
  for (const char* label : {"reinforce-loo-S2", "disarm"}) {
    INFO(label);
    const auto mean = read(base + label + "/mean"), variance = read(base + label + "/variance"),
               exact = read(base + label + "/exact");
    REQUIRE(mean.size() == P);
    REQUIRE(variance.size() == P);
    REQUIRE(exact.size() == P);
    // The table's largest |z| is recomputed from the vectors (coordinates that vary).
    double z = 0;
    for (std::size_t i = 0; i < P; ++i)
      if (variance[i] > 0) z = std::max(z, std::abs(mean[i] - exact[i]) / std::sqrt(variance[i] / 500));
    const auto table = read("/runs/" + id + "/variance/" + label + "/max_abs_z");
    REQUIRE(table.size() == 1);
    CHECK(std::abs(z - table[0]) <= 1e-9 * table[0]);
  }
  H5::H5File without(plain, H5F_ACC_RDONLY);
  CHECK_FALSE(without.nameExists("/runs/" + id + "/vectors"));
  CHECK_FALSE(file.nameExists(base + "disarm/draws"));  // only with --write-draws

  // --write-draws: the R x P draws (float32, chunked, compressed) whose moments are the vectors.
  const std::string with_draws = (dir / "d.h5").string();
  const auto d = gradest::testing::run_gradest(
      fmt::format("variance --from {} --estimators disarm,reinforce --draws 200 --write-draws --out {}", run, with_draws));
  INFO(d.output);
  REQUIRE(d.status == 0);
  H5::H5File draws_file(with_draws, H5F_ACC_RDONLY);
  for (const char* label : {"disarm", "reinforce"}) {
    INFO(label);
    H5::DataSet ds = draws_file.openDataSet(base + label + "/draws");
    hsize_t dims[2] = {0, 0};
    REQUIRE(ds.getSpace().getSimpleExtentNdims() == 2);
    ds.getSpace().getSimpleExtentDims(dims);
    REQUIRE(dims[0] == 200);
    REQUIRE(dims[1] == P);
    CHECK(ds.getDataType() == H5::PredType::NATIVE_FLOAT);
    const H5::DSetCreatPropList props = ds.getCreatePlist();
    CHECK(props.getLayout() == H5D_CHUNKED);
    CHECK(props.getNfilters() == 2);  // shuffle + deflate
    std::vector<float> values(dims[0] * dims[1]);
    ds.read(values.data(), H5::PredType::NATIVE_FLOAT);
    H5::DataSet mean_ds = draws_file.openDataSet(base + label + "/mean"), var_ds = draws_file.openDataSet(base + label + "/variance");
    std::vector<double> mean(P), variance(P);
    mean_ds.read(mean.data(), H5::PredType::NATIVE_DOUBLE);
    var_ds.read(variance.data(), H5::PredType::NATIVE_DOUBLE);
    double worst_mean = 0, worst_variance = 0;
    for (std::size_t i = 0; i < P; ++i) {
      double m = 0, v = 0;
      for (std::size_t r = 0; r < 200; ++r) m += values[r * P + i] / 200.0;
      for (std::size_t r = 0; r < 200; ++r) v += (values[r * P + i] - m) * (values[r * P + i] - m) / 199.0;
      // The same float32 values summed in another order (two passes here, Welford there): equal to
      // double rounding, relative to the values' scale (deterministic coordinates have variance 0).
      worst_mean = std::max(worst_mean, std::abs(m - mean[i]) / (1e-12 * (std::abs(mean[i]) + std::sqrt(variance[i])) + 1e-15));
      worst_variance = std::max(worst_variance, std::abs(v - variance[i]) / (1e-9 * variance[i] + 1e-24));
    }
    CHECK(worst_mean <= 1);
    CHECK(worst_variance <= 1);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("probe: gradest check-unbiased --out writes the vectors behind the test, --write-draws every draw",
          "[probe][hdf5][cli]") {
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("gradest-check-vectors-{}", ::getpid());
  std::filesystem::create_directories(dir);
  for (const char* model : {"bernoulli-vae", "toy-bernoulli"}) {
    INFO(model);
    const std::string out = (dir / (std::string(model) + ".h5")).string();
    const auto r = gradest::testing::run_gradest(
        fmt::format("check-unbiased --model {} --estimator disarm --draws 300 --write-draws --out {}", model, out));
    INFO(r.output);
    REQUIRE(r.status == 0);
    H5::H5File file(out, H5F_ACC_RDONLY);
    H5::Group g = file.openGroup("/check_unbiased");
    const auto exact = gradest::h5::read_vector(g, "exact"), mean = gradest::h5::read_vector(g, "mean"),
               z = gradest::h5::read_vector(g, "z");
    const std::size_t P = exact.size();
    REQUIRE(P > 0);
    REQUIRE(mean.size() == P);
    double largest = 0;
    for (double v : z) largest = std::max(largest, std::abs(v));
    double max_abs_z = 0;
    g.openAttribute("max_abs_z").read(H5::PredType::NATIVE_DOUBLE, &max_abs_z);
    CHECK(std::abs(largest - max_abs_z) <= 1e-9 * max_abs_z);  // the printed statistic, from the vectors
    H5::DataSet ds = g.openDataSet("draws");
    hsize_t dims[2] = {0, 0};
    ds.getSpace().getSimpleExtentDims(dims);
    CHECK(dims[0] == 300);
    CHECK(dims[1] == P);
  }
  // --write-draws needs --out; an existing --out needs --force.
  CHECK(gradest::testing::run_gradest("check-unbiased --model x2 --estimator pathwise --write-draws").status == 2);
  const std::string existing = (dir / "toy-bernoulli.h5").string();
  CHECK(gradest::testing::run_gradest(fmt::format("check-unbiased --model x2 --estimator pathwise --out {}", existing)).status == 2);
  std::filesystem::remove_all(dir);
}
#endif
