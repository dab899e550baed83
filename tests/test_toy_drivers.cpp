// The toy drivers as the engine offers them (run/toy_gaussian_driver.hpp, run/x2_driver.hpp),
// without the command line: option checks, exact columns, thread independence, the HDF5 groups.
#include <H5Cpp.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "models/toy_x2.hpp"
#include "run/toy_gaussian_driver.hpp"
#include "run/x2_driver.hpp"
#include "store/h5io.hpp"

using namespace gradest;

namespace {

std::string refusal(const auto& options) {
  std::string error;
  return options.valid(&error) ? std::string("accepted") : error;
}

// An HDF5 file in memory only.
H5::H5File memory_file(const char* name) {
  H5::FileAccPropList access;
  access.setCore(1 << 16, false);
  return H5::H5File(name, H5F_ACC_TRUNC, H5::FileCreatPropList::DEFAULT, access);
}

}  // namespace

TEST_CASE("toy drivers: options are checked with the option named", "[toys]") {
  CHECK(refusal(GaussianToyOptions{}) == "accepted");
  GaussianToyOptions toy;
  toy.sigma = 0;
  CHECK(refusal(toy).find("'--sigma'") != std::string::npos);
  toy = {};
  toy.repeats = 1;
  CHECK(refusal(toy).find("'--repeats'") != std::string::npos);
  toy = {};
  toy.cost = GaussianCost::exp;
  toy.k = {0.5, -1.0};  // infinite variances for k <= -1/4 at sigma 1
  CHECK(refusal(toy).find("'--k'") != std::string::npos);

  CHECK(refusal(X2Options{}) == "accepted");
  X2Options x2;
  x2.n = {10, 0};
  CHECK(refusal(x2).find("'--n'") != std::string::npos);
  x2 = {};
  x2.threads = 0;
  CHECK(refusal(x2).find("'--threads'") != std::string::npos);
}

TEST_CASE("x2 driver: exact columns, results independent of threads, the /x2 group", "[toys]") {
  X2Options options;
  options.phi = {0.5, 2.0};
  options.n = {1, 7};
  options.repeats = 50;
  const X2Result one = run_x2(options);
  options.threads = 3;
  const X2Result three = run_x2(options);
  for (std::size_t e = 0; e < kX2Estimators.size(); ++e) {
    CHECK(one.estimators[e].mean == three.estimators[e].mean);
    CHECK(one.estimators[e].variance == three.estimators[e].variance);
  }
  CHECK(one.estimators[1].exact(1, 1) == x2::pathwise_variance(2.0) / 7.0);
  H5::H5File file = memory_file("x2-driver.h5");
  write_x2(file, options, one);
  CHECK(h5::read_int_vector(file.openGroup("/x2"), "n") == options.n);
  CHECK(h5::read_matrix(file.openGroup("/x2/score_function"), "mean") == one.estimators[0].mean);
}

TEST_CASE("Gaussian toy driver: every cell once, in order, with the exact gradient", "[toys]") {
  GaussianToyOptions options;
  options.k = {-1.0, 2.0};
  options.mu = 0.5;
  options.sigma = 1.5;
  options.repeats = 20;
  std::vector<std::pair<std::size_t, GaussianToyEstimator>> cells;
  const GaussianToyResult result = run_gaussian_toy(
      options, [&](const GaussianToyResult&, std::size_t i, GaussianToyEstimator e) { cells.emplace_back(i, e); });
  REQUIRE(cells.size() == options.k.size() * kGaussianToyEstimators.size());
  CHECK(cells.front() == std::pair{std::size_t(0), kGaussianToyEstimators.front()});
  CHECK(cells.back() == std::pair{std::size_t(1), kGaussianToyEstimators.back()});
  // square cost (x - k)^2: d/dmu = 2 (mu - k), d/dsigma = 2 sigma.
  for (std::size_t i = 0; i < options.k.size(); ++i) {
    CHECK(result.true_gradient[0][i] == Approx(2.0 * (options.mu - options.k[i])));
    CHECK(result.true_gradient[1][i] == Approx(2.0 * options.sigma));
  }
  H5::H5File file = memory_file("toy-driver.h5");
  write_gaussian_toy(file, options, result);
  CHECK(h5::read_vector(file.openGroup("/toy"), "k") == options.k);
  CHECK(h5::read_vector(file.openGroup("/toy/pathwise/sigma"), "variance") ==
        result.column(GaussianToyEstimator::pathwise, GaussianParameter::sigma).variance);
}
