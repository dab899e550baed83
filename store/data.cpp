#include "store/data.hpp"
#include "models/latent_family.hpp"

#include <H5Cpp.h>
#include <fmt/format.h>
#include <zlib.h>

#include <array>
#include <cmath>
#include <filesystem>

#include "core/errors.hpp"
#include "core/files.hpp"
#include "core/limits.hpp"
#include "core/text.hpp"
#include "models/enumerate.hpp"
#include "store/h5read.hpp"

namespace gradest::data {

namespace fs = std::filesystem;

std::string_view to_string(Binarize binarize) {
  switch (binarize) {
    case Binarize::dynamic: return "dynamic";
    case Binarize::threshold: return "threshold";
    case Binarize::none: return "none";
  }
  return "?";
}

bool parse_binarize(std::string_view text, Binarize* out) {
  for (Binarize b : {Binarize::dynamic, Binarize::threshold, Binarize::none})
    if (to_string(b) == text) return *out = b, true;
  return false;
}

Real Dataset::byte_value(std::uint8_t byte) {
  static const auto table = [] {
    std::array<Real, 256> t{};
    for (int i = 0; i < 256; ++i) t[std::size_t(i)] = Real(double(i) / 255.0);
    return t;
  }();
  return table[byte];
}

Dataset Dataset::from_bytes(Index n, Index d, std::vector<std::uint8_t> bytes) {
  if (Index(bytes.size()) != n * d) throw std::invalid_argument("Dataset::from_bytes: size mismatch");
  Dataset out;
  out.n_ = n;
  out.d_ = d;
  out.as_bytes_ = true;
  out.bytes_ = std::move(bytes);
  return out;
}

Dataset Dataset::from_matrix(RowMatrix values) {
  Dataset out;
  out.n_ = values.rows();
  out.d_ = values.cols();
  out.values_ = std::move(values);
  return out;
}

void Dataset::gather(std::span<const Index> rows, Matrix& out) const {
  const Index count = Index(rows.size());
  out.resize(count, d_);
  if (!as_bytes_) {
    for (Index b = 0; b < count; ++b) out.row(b) = values_.row(rows[std::size_t(b)]);
    return;
  }
  // Column by column (out is column-major): each store is contiguous, and the rows' bytes are read
  // a cache line at a time that stays in L1 for the next 63 columns.
  std::array<Real, 256> table{};
  for (int i = 0; i < 256; ++i) table[std::size_t(i)] = byte_value(std::uint8_t(i));
  std::vector<const std::uint8_t*> sources(rows.size());
  for (Index b = 0; b < count; ++b) sources[std::size_t(b)] = bytes_.data() + rows[std::size_t(b)] * d_;
  for (Index j = 0; j < d_; ++j) {
    Real* column = out.data() + j * count;
    for (Index b = 0; b < count; ++b) column[b] = table[sources[std::size_t(b)][j]];
  }
}

void Dataset::rows(Index first, Index count, Matrix& out) const {
  std::vector<Index> index(static_cast<std::size_t>(count));
  for (Index i = 0; i < count; ++i) index[std::size_t(i)] = first + i;
  gather(index, out);
}

Dataset Dataset::slice(Index first, Index count) const {
  if (first < 0 || count < 0 || first + count > n_) throw std::out_of_range("Dataset::slice out of range");
  if (as_bytes_)
    return from_bytes(count, d_, std::vector<std::uint8_t>(bytes_.begin() + first * d_, bytes_.begin() + (first + count) * d_));
  return from_matrix(values_.middleRows(first, count));
}

VectorD Dataset::mean() const {
  VectorD sum = VectorD::Zero(d_);
  for (Index i = 0; i < n_; ++i)
    for (Index j = 0; j < d_; ++j) sum(j) += double(value(i, j));
  return n_ > 0 ? VectorD(sum / double(n_)) : sum;
}

double Dataset::min_value() const {
  if (n_ == 0) return 0;
  if (as_bytes_) return double(byte_value(*std::min_element(bytes_.begin(), bytes_.end())));
  return double(values_.minCoeff());
}

double Dataset::max_value() const {
  if (n_ == 0) return 0;
  if (as_bytes_) return double(byte_value(*std::max_element(bytes_.begin(), bytes_.end())));
  return double(values_.maxCoeff());
}

// ---- IDX ---------------------------------------------------------------------------------------

namespace {

[[noreturn]] void fashion_error(const std::string& path, std::string_view problem) {
  throw InputError(fmt::format("cannot read Fashion-MNIST file '{}': {}; install the Debian package {} "
                                    "(apt-get install {}) or pass --data-dir DIR",
                                    path, problem, kFashionMnistPackage, kFashionMnistPackage));
}

struct GzFile {
  gzFile handle = nullptr;
  ~GzFile() {
    if (handle) gzclose(handle);
  }
};

// Reads exactly n bytes or reports the file truncated or corrupt.
void read_exact(GzFile& file, const std::string& path, void* out, std::size_t n) {
  auto* dst = static_cast<unsigned char*>(out);
  std::size_t done = 0;
  while (done < n) {
    const unsigned chunk = unsigned(std::min<std::size_t>(n - done, 1u << 30));
    const int got = gzread(file.handle, dst + done, chunk);
    if (got < 0) {
      int code = 0;
      const char* message = gzerror(file.handle, &code);
      fashion_error(path, fmt::format("corrupt gzip data ({})", message ? message : "unknown"));
    }
    if (got == 0) fashion_error(path, fmt::format("truncated: expected {} more bytes", n - done));
    done += std::size_t(got);
  }
}

std::uint32_t big_endian(const unsigned char* b) {
  return (std::uint32_t(b[0]) << 24) | (std::uint32_t(b[1]) << 16) | (std::uint32_t(b[2]) << 8) | std::uint32_t(b[3]);
}

}  // namespace

Dataset read_idx_images(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fashion_error(path, "no such file");
  if (fs::is_directory(path, ec)) fashion_error(path, "is a directory");
  if (!fs::is_regular_file(path, ec)) fashion_error(path, "is not a regular file (a FIFO or device)");
  files::require_input(path, "Fashion-MNIST file");
  GzFile file;
  file.handle = gzopen(path.c_str(), "rb");  // reads uncompressed files transparently too
  if (!file.handle) fashion_error(path, "cannot open");
  unsigned char header[16];
  read_exact(file, path, header, 4);
  const std::uint32_t magic = big_endian(header);
  if (magic != 0x00000803u)
    fashion_error(path, fmt::format("not an IDX3 unsigned-byte image file (magic 0x{:08x}, expected 0x00000803)", magic));
  read_exact(file, path, header + 4, 12);
  const std::uint32_t n = big_endian(header + 4), rows = big_endian(header + 8), cols = big_endian(header + 12);
  if (n == 0 || rows == 0 || cols == 0 || rows > 4096 || cols > 4096 || n > (1u << 26))
    fashion_error(path, fmt::format("implausible IDX dimensions {} x {} x {}", n, rows, cols));
  const Index d = Index(rows) * Index(cols);
  const std::size_t total = std::size_t(n) * std::size_t(d);
  if (total > (std::size_t(1) << 31))
    fashion_error(path, fmt::format("IDX dimensions {} x {} x {} exceed 2 GiB of pixels", n, rows, cols));
  // Grow as the data arrive, so a header that claims more than the file holds is reported as
  // truncated without first allocating what it claims.
  std::vector<std::uint8_t> bytes;
  constexpr std::size_t kChunk = std::size_t(1) << 22;
  while (bytes.size() < total) {
    const std::size_t offset = bytes.size();
    bytes.resize(offset + std::min(kChunk, total - offset));
    read_exact(file, path, bytes.data() + offset, bytes.size() - offset);
  }
  unsigned char extra;
  if (gzread(file.handle, &extra, 1) != 0) fashion_error(path, "trailing data after the images");
  return Dataset::from_bytes(Index(n), d, std::move(bytes));
}

DataSplits load_fashion_mnist(const std::string& directory) {
  std::error_code ec;
  if (!fs::is_directory(directory, ec))
    throw InputError(fmt::format("Fashion-MNIST directory '{}' does not exist; install the Debian package {} "
                                      "(apt-get install {}) or pass --data-dir DIR",
                                      directory, kFashionMnistPackage, kFashionMnistPackage));
  const std::string train_path = (fs::path(directory) / "train-images-idx3-ubyte.gz").string();
  const std::string test_path = (fs::path(directory) / "t10k-images-idx3-ubyte.gz").string();
  Dataset train = read_idx_images(train_path);
  Dataset test = read_idx_images(test_path);
  if (train.size() != 60000 || test.size() != 10000 || train.dim() != 784 || test.dim() != 784)
    fashion_error(train_path, fmt::format("unexpected sizes (train {} x {}, test {} x {}; expected 60000 and 10000 x 784)",
                                          train.size(), train.dim(), test.size(), test.dim()));
  DataSplits out;
  out.source = "fashion-mnist";
  out.path = directory;
  out.validation = train.slice(kFashionMnistTrain, train.size() - kFashionMnistTrain);
  out.train = train.slice(0, kFashionMnistTrain);
  out.test = std::move(test);
  return out;
}

// ---- HDF5 --------------------------------------------------------------------------------------

namespace {

RowMatrix read_h5_matrix(H5::H5File& file, const std::string& path, const std::string& name) {
  H5::DataSet ds = h5::open_dataset(file.openGroup("/"), name);
  H5::DataSpace space = ds.getSpace();
  if (space.getSimpleExtentNdims() != 2)
    throw InputError(fmt::format("data file '{}': dataset '{}' is not two-dimensional (N x D)", path, name));
  hsize_t dims[2];
  space.getSimpleExtentDims(dims);
  h5::checked_points(ds, sizeof(double));  // bounded before the matrix is allocated
  if (dims[0] == 0 || dims[1] == 0)
    throw InputError(fmt::format("data file '{}': dataset '{}' is empty", path, name));
  const H5T_class_t type_class = ds.getTypeClass();
  if (type_class != H5T_FLOAT && type_class != H5T_INTEGER)
    throw InputError(fmt::format("data file '{}': dataset '{}' is not numeric", path, name));
  // The extents are the file's word: a small compressed file may declare any size.
  limits::require_memory(fmt::format("data file '{}'", path),
                         fmt::format("its dataset '{}' ({} x {})", name, dims[0], dims[1]),
                         (8.0 + sizeof(Real)) * double(dims[0]) * double(dims[1]), "the data (or use a smaller file)");
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> values{Index(dims[0]), Index(dims[1])};
  ds.read(values.data(), H5::PredType::NATIVE_DOUBLE);
  if (!values.allFinite())
    throw InputError(fmt::format("data file '{}': dataset '{}' holds NaN or infinite values", path, name));
  return values.cast<Real>();
}

}  // namespace

DataSplits load_hdf5(const std::string& path) {
  DataSplits out;
  out.source = "file";
  out.path = path;
  try {
    H5::H5File file = h5::open_hdf5_input(path, "data file");
    if (file.nameExists("train") && file.nameExists("test")) {
      out.train = Dataset::from_matrix(read_h5_matrix(file, path, "train"));
      out.test = Dataset::from_matrix(read_h5_matrix(file, path, "test"));
      if (out.train.dim() != out.test.dim())
        throw InputError(fmt::format("data file '{}': 'train' has {} columns, 'test' {}", path,
                                          out.train.dim(), out.test.dim()));
      return out;
    }
    std::string name;
    if (file.nameExists("data")) {
      name = "data";
    } else {
      std::vector<std::string> candidates;
      for (const auto& [child, type] : h5::members(file.openGroup("/"))) {
        if (type != H5O_TYPE_DATASET) continue;
        if (h5::open_dataset(file.openGroup("/"), child).getSpace().getSimpleExtentNdims() == 2)
          candidates.push_back(child);
      }
      if (candidates.size() != 1)
        throw InputError(fmt::format("data file '{}': expected a dataset 'data' (N x D), datasets 'train' and 'test', "
                                          "or exactly one two-dimensional dataset; found {}",
                                          path, candidates.size()));
      name = candidates.front();
    }
    const Dataset all = Dataset::from_matrix(read_h5_matrix(file, path, name));
    if (all.size() < 2) throw InputError(fmt::format("data file '{}': dataset '{}' needs at least 2 rows", path, name));
    const Index n_test = std::max<Index>(1, all.size() / 6);
    out.train = all.slice(0, all.size() - n_test);
    out.test = all.slice(all.size() - n_test, n_test);
  } catch (const H5::Exception&) {
    throw InputError(fmt::format("cannot read data file '{}': corrupted, truncated or not an N x D HDF5 dataset", path));
  }
  return out;
}

// ---- synthetic -----------------------------------------------------------------------------------

bool SyntheticOptions::valid(std::string* error) const {
  auto fail = [&](std::string message) {
    if (error) *error = std::move(message);
    return false;
  };
  if (latents < 1) return fail(fmt::format("synthetic latents must be >= 1, got {}", latents));
  if (dim < 1) return fail(fmt::format("synthetic dim must be >= 1, got {}", dim));
  if (train < 1 || test < 1) return fail(fmt::format("synthetic train and test sizes must be >= 1, got {} and {}", train, test));
  if (!(weight_scale > 0)) return fail(fmt::format("synthetic weight scale must be > 0, got {}", weight_scale));
  // Both splits are kept, and the larger is drawn through z and x matrices first.
  const double largest = double(std::max(train, test)), real = sizeof(Real);
  const double bytes = real * (double(dim) * (double(train) + double(test) + largest) + double(latents) * largest);
  if (auto problem = limits::memory_shortfall(fmt::format("--synthetic-train {}, --synthetic-test {}", train, test),
                                              fmt::format("the synthetic data ({} dimensions)", dim), bytes,
                                              "--synthetic-train, --synthetic-test, --synthetic-dim or --synthetic-latents");
      !problem.empty())
    return fail(problem);
  return true;
}

double exact_log_likelihood(Vae& vae, const Dataset& data) {
  const Index k = vae.latents();
  if (vae.latent_family().support_size() != 2 || k > kMaxEnumeratedBits)
    throw std::invalid_argument("exact_log_likelihood needs Bernoulli latents with k <= 16");
  const std::uint64_t configurations = std::uint64_t{1} << k;
  const Index chunk = std::max<Index>(1, Index((std::uint64_t{1} << 16) / configurations));
  Matrix x, z;
  Vector value;
  double total = 0;
  for (Index first = 0; first < data.size(); first += chunk) {
    const Index B = std::min(chunk, data.size() - first);
    data.rows(first, B, x);
    enumerate_configurations(k, B, 0, configurations, z);
    vae.objective(x, Objective::Terms::joint).evaluate(0, z, value);
    for (Index b = 0; b < B; ++b) {
      double max_value = -std::numeric_limits<double>::infinity();
      for (std::uint64_t c = 0; c < configurations; ++c) max_value = std::max(max_value, double(value(Index(c) * B + b)));
      double sum = 0;
      for (std::uint64_t c = 0; c < configurations; ++c) sum += std::exp(double(value(Index(c) * B + b)) - max_value);
      total += max_value + std::log(sum);
    }
  }
  return total / double(data.size());
}

DataSplits make_synthetic(const SyntheticOptions& options) {
  std::string error;
  if (!options.valid(&error)) throw InputError(error);
  VaeConfig config;
  config.latent = options.latent;
  config.input_dim = options.dim;
  config.latents = options.latents;
  config.encoder = NetworkSpec{{}, Activation::none};
  config.decoder = NetworkSpec{{}, Activation::none};
  config.likelihood = Likelihood::bernoulli;
  Rng init = Rng::stream(options.seed, {stable_hash("synthetic-init")});
  auto vae = Vae::make(config, init);
  // Known parameters with visible structure: decoder weights N(0, (scale/sqrt(k))^2), biases and
  // prior logits N(0, 1).
  Rng truth_rng = Rng::stream(options.seed, {stable_hash("synthetic-truth")});
  const double weight_sd = options.weight_scale / std::sqrt(double(options.latents));
  auto weight = vae->decoder().weight(0);
  for (Index i = 0; i < weight.size(); ++i) weight.data()[i] = Real(weight_sd * truth_rng.normal());
  auto bias = vae->decoder().bias(0);
  for (Index i = 0; i < bias.size(); ++i) bias(i) = Real(truth_rng.normal());
  if (vae->parameters().find("prior")) {
    auto prior = vae->parameters().group("prior");
    for (Index i = 0; i < prior.size(); ++i) prior(i) = Real(truth_rng.normal());
  }
  auto draw = [&](Index n, std::uint64_t id) {
    Rng rng = Rng::stream(options.seed, {stable_hash("synthetic-data"), id});
    Matrix z, x;
    vae->sample_prior(n, rng, z);
    vae->sample_data(z, rng, x);
    return Dataset::from_matrix(RowMatrix(x));
  };
  DataSplits out;
  out.source = "synthetic";
  out.train = draw(options.train, 0);
  out.test = draw(options.test, 1);
  SyntheticTruth truth;
  truth.config = config;
  truth.parameters = vae->parameters().values();
  if (config.family().support_size() == 2 && options.latents <= kMaxEnumeratedBits) {
    truth.train_log_likelihood = exact_log_likelihood(*vae, out.train);
    truth.test_log_likelihood = exact_log_likelihood(*vae, out.test);
  }
  out.truth = std::move(truth);
  return out;
}

void binarize(Matrix& x, Binarize mode, Rng& rng) {
  switch (mode) {
    case Binarize::none: return;
    case Binarize::threshold:
      x = (x.array() > Real(0.5)).cast<Real>();
      return;
    case Binarize::dynamic: {
      // Column-major order of the draws: element (b, j) uses the (j*B + b)-th uniform.
      for (Index i = 0; i < x.size(); ++i) x.data()[i] = rng.uniform() < double(x.data()[i]) ? Real(1) : Real(0);
      return;
    }
  }
}

}  // namespace gradest::data
