#pragma once
// Training data: Fashion-MNIST (IDX .gz files), synthetic data from a VAE with known parameters,
// and a user's HDF5 file; binarization.
//
// Splits:
//   fashion-mnist: train-images-idx3-ubyte.gz -> its first 50,000 images are `train`, the last
//                  10,000 `validation`; t10k-images-idx3-ubyte.gz (10,000) is `test`. Pixels are
//                  stored as bytes (55 MB for all 70,000) and gathered as intensities in [0, 1].
//                  Directory: /usr/share/datasets/fashion-mnist (Debian package
//                  dataset-fashion-mnist), or any directory holding the same two files.
//   synthetic:     N_train + N_test points x ~ p_theta(x) drawn from a VAE (models/vae.hpp) with
//                  known parameters theta (see SyntheticOptions); no validation split. The truth
//                  travels with the data: its config, parameters and, for Bernoulli latents with
//                  k <= 16, the exact mean log-likelihood of each split by enumerating all 2^k z.
//   FILE.h5:       a float N x D dataset (`data`, or the file's only two-dimensional dataset), its
//                  last max(1, N/6) rows are `test`, the rest `train`; or two datasets `train` and
//                  `test` with the same D. No validation split.
//
// Binarization, applied to each minibatch by the trainer as it is used:
//   dynamic:   x_i ~ Bernoulli(intensity_i), fresh draws from the run's generator at every use;
//   threshold: x_i = [intensity_i > 0.5];
//   none:      the stored values (real-valued data, or data that are already binary).
//
// Missing, truncated or corrupt files throw InputError with one line naming the file and what
// to install or pass.
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "models/rng.hpp"
#include "models/types.hpp"
#include "models/vae.hpp"

namespace gradest::data {

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
inline constexpr const char* kFashionMnistPackage = "dataset-fashion-mnist";
inline constexpr Index kFashionMnistTrain = 50000;  // the rest of the training file is validation

enum class Binarize { dynamic, threshold, none };
std::string_view to_string(Binarize binarize);
bool parse_binarize(std::string_view text, Binarize* out);

using RowMatrix = Eigen::Matrix<Real, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// N examples of dimension D, stored as bytes (value = byte / 255) or as Real, one row each.
class Dataset {
 public:
  Dataset() = default;
  static Dataset from_bytes(Index n, Index d, std::vector<std::uint8_t> bytes);
  static Dataset from_matrix(RowMatrix values);

  Index size() const { return n_; }
  Index dim() const { return d_; }
  bool empty() const { return n_ == 0; }
  bool stored_as_bytes() const { return as_bytes_; }
  Real value(Index row, Index col) const {
    return as_bytes_ ? byte_value(bytes_[std::size_t(row * d_ + col)]) : values_(row, col);
  }
  // byte / 255, correctly rounded (255 -> exactly 1).
  static Real byte_value(std::uint8_t byte);
  // out (rows.size() x D) = the listed examples.
  void gather(std::span<const Index> rows, Matrix& out) const;
  // out = examples first .. first+count-1.
  void rows(Index first, Index count, Matrix& out) const;
  Dataset slice(Index first, Index count) const;
  // Per-dimension mean and the overall min and max.
  VectorD mean() const;
  double min_value() const;
  double max_value() const;

 private:
  Index n_ = 0, d_ = 0;
  bool as_bytes_ = false;
  std::vector<std::uint8_t> bytes_;
  RowMatrix values_;
};

// What generated synthetic data.
struct SyntheticTruth {
  VaeConfig config;
  Vector parameters;                 // the true model's flat parameter vector
  double train_log_likelihood = std::numeric_limits<double>::quiet_NaN();  // mean log p(x) per example, nats
  double test_log_likelihood = std::numeric_limits<double>::quiet_NaN();
};

struct SyntheticOptions {
  LatentKind latent = LatentKind::bernoulli;
  int latents = 8;          // k (exact log-likelihood when Bernoulli and k <= 16)
  int dim = 64;             // D (Bernoulli pixels)
  Index train = 10000;
  Index test = 2000;
  double weight_scale = 3.0;  // decoder weights ~ N(0, (weight_scale/sqrt(k))^2), biases N(0, 1)
  std::uint64_t seed = 1;     // the data and the true model depend only on this seed
  bool valid(std::string* error) const;
};

struct DataSplits {
  Dataset train, validation, test;
  std::string source;  // "fashion-mnist", "synthetic", or the HDF5 path
  std::string path;    // directory or file the data came from ("" for synthetic)
  std::optional<SyntheticTruth> truth;
};

// Reads one IDX3 image file (gzip-compressed or not): N x (rows*cols) bytes.
Dataset read_idx_images(const std::string& path);
DataSplits load_fashion_mnist(const std::string& directory = kFashionMnistDir);
DataSplits load_hdf5(const std::string& path);
DataSplits make_synthetic(const SyntheticOptions& options);

// Mean exact log-likelihood log p(x) = log sum_z p(z) p(x|z) over the examples of `data` under a
// Bernoulli-latent VAE (k <= 16), by enumeration in double.
double exact_log_likelihood(Vae& vae, const Dataset& data);

// In place, per the mode (see above); draws from rng only for dynamic.
void binarize(Matrix& x, Binarize mode, Rng& rng);

}  // namespace gradest::data
