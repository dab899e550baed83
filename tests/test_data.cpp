// Data loading: Fashion-MNIST shapes, value range and checksums; one-line errors for missing,
// truncated and corrupt files; HDF5 user data; binarization.
#include <catch2/catch.hpp>
#include <H5Cpp.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cmath>
#include <functional>
#include <filesystem>
#include <fstream>

#include "cli/cli.hpp"
#include "store/data.hpp"
#include "tests/support.hpp"

using namespace gradest;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / fmt::format("gradest-test-data-{}-{}", name, ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const gradest::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("Fashion-MNIST loads with the documented splits, range and checksums", "[data]") {
  if (!fs::exists(std::string(data::kFashionMnistDir) + "/train-images-idx3-ubyte.gz")) {
    WARN("dataset-fashion-mnist not installed; skipping");
    return;
  }
  const data::DataSplits splits = data::load_fashion_mnist();
  CHECK(splits.train.size() == 50000);
  CHECK(splits.validation.size() == 10000);
  CHECK(splits.test.size() == 10000);
  CHECK(splits.train.dim() == 784);
  CHECK(splits.train.min_value() == 0.0);
  CHECK(splits.train.max_value() == 1.0);
  // Checksums computed independently (Python gzip + numpy on the same files): the first training
  // image's byte sum and position-weighted sum, and the last test image's byte sum.
  double sum = 0, weighted = 0, last_test = 0;
  for (Index j = 0; j < 784; ++j) {
    const double byte = std::round(double(splits.train.value(0, j)) * 255.0);
    sum += byte;
    weighted += byte * double(j);
    last_test += std::round(double(splits.test.value(9999, j)) * 255.0);
  }
  CHECK(sum == 76247);
  CHECK(weighted == 35878026);
  CHECK(last_test == 24390);
  // gather returns the stored intensities.
  Matrix x;
  const std::vector<Index> rows = {0, 49999};
  splits.train.gather(rows, x);
  CHECK(x.rows() == 2);
  CHECK(x(0, 400) == splits.train.value(0, 400));
  CHECK(x(1, 783) == splits.train.value(49999, 783));
}

TEST_CASE("missing, truncated and corrupt IDX files give one-line errors naming path and package", "[data]") {
  const fs::path dir = temp_dir("idx");
  const std::string missing = error_of([&] { data::load_fashion_mnist((dir / "nowhere").string()); });
  CHECK(missing.find("nowhere") != std::string::npos);
  CHECK(missing.find("dataset-fashion-mnist") != std::string::npos);

  const std::string absent = error_of([&] { data::load_fashion_mnist(dir.string()); });
  CHECK(absent.find("train-images-idx3-ubyte.gz") != std::string::npos);
  CHECK(absent.find("dataset-fashion-mnist") != std::string::npos);

  // An uncompressed IDX header promising 10 images of 28x28, followed by only 100 bytes.
  const fs::path truncated = dir / "truncated.idx";
  {
    std::ofstream out(truncated, std::ios::binary);
    const unsigned char header[16] = {0, 0, 8, 3, 0, 0, 0, 10, 0, 0, 0, 28, 0, 0, 0, 28};
    out.write(reinterpret_cast<const char*>(header), 16);
    out << std::string(100, 'x');
  }
  const std::string short_message = error_of([&] { data::read_idx_images(truncated.string()); });
  CHECK(short_message.find("truncated") != std::string::npos);
  CHECK(short_message.find(truncated.string()) != std::string::npos);
  CHECK(short_message.find('\n') == std::string::npos);

  const fs::path garbage = dir / "garbage.gz";
  { std::ofstream(garbage, std::ios::binary) << "this is not an idx file at all"; }
  const std::string bad_magic = error_of([&] { data::read_idx_images(garbage.string()); });
  CHECK(bad_magic.find("magic") != std::string::npos);

  // A real gzip file cut in half.
  const std::string real = std::string(data::kFashionMnistDir) + "/t10k-images-idx3-ubyte.gz";
  if (fs::exists(real)) {
    const fs::path cut = dir / "cut.gz";
    std::ifstream in(real, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(cut, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() / 2));
    const std::string cut_message = error_of([&] { data::read_idx_images(cut.string()); });
    CHECK(cut_message.find(cut.string()) != std::string::npos);
    CHECK((cut_message.find("truncated") != std::string::npos || cut_message.find("corrupt") != std::string::npos));
  }
  fs::remove_all(dir);
}

TEST_CASE("an HDF5 N x D dataset loads and splits; bad files are refused", "[data]") {
  const fs::path dir = temp_dir("h5");
  const fs::path path = dir / "mine.h5";
  {
    H5::H5File file(path.string(), H5F_ACC_TRUNC);
    hsize_t dims[2] = {12, 3};
    std::vector<double> values(36);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = double(i) / 36.0;
    file.createDataSet("points", H5::PredType::NATIVE_DOUBLE, H5::DataSpace(2, dims))
        .write(values.data(), H5::PredType::NATIVE_DOUBLE);
  }
  const data::DataSplits splits = data::load_hdf5(path.string());
  CHECK(splits.train.size() == 10);
  CHECK(splits.test.size() == 2);
  CHECK(splits.train.dim() == 3);
  CHECK(splits.test.value(1, 2) == Approx(35.0 / 36.0));

  CHECK(error_of([&] { data::load_hdf5((dir / "absent.h5").string()); }).find("does not exist") != std::string::npos);
  const fs::path text = dir / "text.h5";
  { std::ofstream(text) << "not hdf5"; }
  CHECK(error_of([&] { data::load_hdf5(text.string()); }).find("not an HDF5 file") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("binarization: threshold is exact, dynamic draws Bernoulli(intensity)", "[data]") {
  Matrix x(2, 3);
  x << 0.2, 0.5, 0.51, 1.0, 0.0, 0.7;
  Rng rng(testing::seed());
  Matrix t = x;
  data::binarize(t, data::Binarize::threshold, rng);
  Matrix expected(2, 3);
  expected << 0, 0, 1, 1, 0, 1;
  CHECK(t == expected);
  Matrix none = x;
  data::binarize(none, data::Binarize::none, rng);
  CHECK(none == x);
  // Dynamic: n draws at p = 0.3; z-test of the mean at |z| < 4.5 (two-sided level about 7e-6).
  const Index n = 200000;
  Matrix p = Matrix::Constant(n, 1, Real(0.3));
  data::binarize(p, data::Binarize::dynamic, rng);
  CHECK(((p.array() == 0) || (p.array() == 1)).all());
  const double mean = double(p.sum()) / double(n);
  CHECK(std::abs(mean - 0.3) / std::sqrt(0.3 * 0.7 / double(n)) < 4.5);
  // Same stream, same draws.
  Rng a(5), b(5);
  Matrix xa = Matrix::Constant(4, 4, Real(0.5)), xb = xa;
  data::binarize(xa, data::Binarize::dynamic, a);
  data::binarize(xb, data::Binarize::dynamic, b);
  CHECK(xa == xb);
}
