#pragma once
// Scalar type and matrix aliases shared by every layer of gradest.
//
// Network compute runs in `Real` (float32 in the gradest binary; float64 in the test build used
// for finite-difference gradient checks, selected by the GRADEST_REAL compile definition).
// Statistics over many draws (means, variances, ELBO sums) accumulate in double.
// Layout: a batch is a matrix with one ROW per data point (or per (sample, data point) pair),
// column-major as Eigen's default.
#include <Eigen/Core>
#include <cstdint>

#ifndef GRADEST_REAL
#define GRADEST_REAL float
#endif

namespace gradest {

using Real = GRADEST_REAL;
using Index = Eigen::Index;
using Matrix = Eigen::Matrix<Real, Eigen::Dynamic, Eigen::Dynamic>;
using Vector = Eigen::Matrix<Real, Eigen::Dynamic, 1>;
using RowVector = Eigen::Matrix<Real, 1, Eigen::Dynamic>;
using MatrixD = Eigen::MatrixXd;
// Row-major float32, for data written to HDF5 a row at a time (raw gradient draws).
using RowMatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using VectorD = Eigen::VectorXd;
using MatrixMap = Eigen::Map<Matrix>;
using ConstMatrixMap = Eigen::Map<const Matrix>;
using VectorMap = Eigen::Map<Vector>;
using ConstVectorMap = Eigen::Map<const Vector>;

// True if no entry is NaN or infinite. Vectorised (Eigen's allFinite() runs a scalar loop, which
// was a tenth of a training step): x * 0 is 0 for every finite x and NaN otherwise, and a sum is
// NaN if any term is. Needs IEEE arithmetic (no -ffast-math, which gradest never uses).
template <typename Derived>
bool all_finite(const Eigen::DenseBase<Derived>& x) {
  return (x.derived().array() * typename Derived::Scalar(0)).sum() == typename Derived::Scalar(0);
}

}  // namespace gradest
