// blas::gemm (models/blas.hpp), the one entry of the network's products into the configured
// library: every transpose combination, alpha and beta, operands that are blocks of larger
// matrices (outer stride above the row count), beta = 0 overwriting a c full of NaN, and shapes that
// do not match, against a triple loop in double.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <thread>

#include "models/blas.hpp"

using namespace gradest;
using blas::Op;

namespace {

// c = alpha op(a) op(b) + beta c in double, element by element.
MatrixD reference(Op op_a, const Matrix& a, Op op_b, const Matrix& b, double beta, const Matrix& c, double alpha) {
  const MatrixD A = op_a == Op::none ? MatrixD(a.cast<double>()) : MatrixD(a.cast<double>().transpose());
  const MatrixD B = op_b == Op::none ? MatrixD(b.cast<double>()) : MatrixD(b.cast<double>().transpose());
  MatrixD out(A.rows(), B.cols());
  for (Index i = 0; i < A.rows(); ++i)
    for (Index j = 0; j < B.cols(); ++j) {
      double sum = 0;
      for (Index l = 0; l < A.cols(); ++l) sum += A(i, l) * B(l, j);
      out(i, j) = alpha * sum + (beta == 0 ? 0.0 : beta * double(c(i, j)));
    }
  return out;
}

}  // namespace

TEST_CASE("gemm computes alpha op(a) op(b) + beta c for every transpose pair", "[blas]") {
  const Index m = 37, k = 53, n = 29;  // odd sizes: every kernel's edge cases
  for (Op op_a : {Op::none, Op::transpose})
    for (Op op_b : {Op::none, Op::transpose})
      for (double beta : {0.0, 1.0, 0.5})
        for (double alpha : {1.0, -2.0}) {
          Matrix a = op_a == Op::none ? Matrix::Random(m, k) : Matrix::Random(k, m);
          Matrix b = op_b == Op::none ? Matrix::Random(k, n) : Matrix::Random(n, k);
          Matrix c = Matrix::Random(m, n);
          if (beta == 0) c.setConstant(std::numeric_limits<Real>::quiet_NaN());  // must not be read
          const MatrixD expected = reference(op_a, a, op_b, b, beta, c, alpha);
          blas::gemm(op_a, a, op_b, b, Real(beta), c, Real(alpha));
          INFO("op_a " << int(op_a) << " op_b " << int(op_b) << " beta " << beta << " alpha " << alpha);
          REQUIRE(c.allFinite());
          CHECK((c.cast<double>() - expected).cwiseAbs().maxCoeff() < 1e-4 * (1 + expected.cwiseAbs().maxCoeff()));
        }
}

TEST_CASE("gemm reads and writes blocks of larger matrices in place", "[blas]") {
  // As the network passes maps into the flat parameter and gradient vectors: leading dimension
  // above the block's rows.
  Matrix big_a = Matrix::Random(40, 30), big_b = Matrix::Random(25, 45), big_c = Matrix::Random(50, 50);
  const Matrix before = big_c;
  auto a = big_a.block(3, 2, 12, 20);   // 12 x 20
  auto b = big_b.block(1, 4, 20, 17);   // 20 x 17
  auto c = big_c.block(5, 6, 12, 17);   // 12 x 17
  const MatrixD expected = reference(Op::none, a, Op::none, b, 1.0, c, 1.0);
  blas::gemm(Op::none, a, Op::none, b, Real(1), c);
  CHECK((big_c.block(5, 6, 12, 17).cast<double>() - expected).cwiseAbs().maxCoeff() < 1e-4);
  // Nothing outside the block changed.
  Matrix outside = big_c;
  outside.block(5, 6, 12, 17) = before.block(5, 6, 12, 17);
  CHECK((outside.array() == before.array()).all());
}

TEST_CASE("gemm with an empty inner dimension scales c; mismatched shapes are refused", "[blas]") {
  Matrix a(4, 0), b(0, 3), c = Matrix::Constant(4, 3, 2.0);
  blas::gemm(Op::none, a, Op::none, b, Real(0.5), c);
  CHECK((c.array() == Real(1)).all());
  blas::gemm(Op::none, a, Op::none, b, Real(0), c);
  CHECK((c.array() == Real(0)).all());
  Matrix x = Matrix::Random(4, 5), y = Matrix::Random(6, 3), out(4, 3);
  CHECK_THROWS_WITH(blas::gemm(Op::none, x, Op::none, y, Real(0), out), Catch::Contains("do not match"));
  Matrix wrong_out(3, 3);
  Matrix y5 = Matrix::Random(5, 3);
  CHECK_THROWS_WITH(blas::gemm(Op::none, x, Op::none, y5, Real(0), wrong_out), Catch::Contains("do not match"));
}

TEST_CASE("the library runs one thread", "[blas]") {
  // tests/main.cpp calls use_one_thread() as the gradest binary does.
  CHECK(blas::threads() == 1);
  CHECK_FALSE(blas::library().empty());
}

TEST_CASE("gemm runs one thread and the same sums on a thread that never set it", "[blas]") {
  // A thread started later has the libraries' default thread count (OpenMP's is one per core);
  // blas::gemm must still run one thread there, so results do not depend on which thread calls.
  const Matrix a = Matrix::Random(300, 500), b = Matrix::Random(500, 400);
  Matrix on_main(300, 400), on_thread(300, 400);
  blas::gemm(Op::none, a, Op::none, b, Real(0), on_main);
  int threads_there = 0;
  std::thread worker([&] {
    blas::gemm(Op::none, a, Op::none, b, Real(0), on_thread);
    threads_there = blas::threads();
  });
  worker.join();
  CHECK(threads_there == 1);
  CHECK((on_main.array() == on_thread.array()).all());
}
