#include "models/blas.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <stdexcept>

#if defined(GRADEST_BLAS_OPENBLAS) || defined(GRADEST_BLAS_BLIS)
#define GRADEST_HAS_CBLAS 1
// The standard CBLAS interface (both libraries export it; declared here so that no include path of
// one library's variant directory is needed).
extern "C" {
enum GradestCblasOrder { kCblasColMajor = 102 };
enum GradestCblasTranspose { kCblasNoTrans = 111, kCblasTrans = 112 };
void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                 const float* b, int ldb, float beta, float* c, int ldc);
void cblas_dgemm(int order, int trans_a, int trans_b, int m, int n, int k, double alpha, const double* a, int lda,
                 const double* b, int ldb, double beta, double* c, int ldc);
}
#endif

#if defined(GRADEST_GEMM_ONEDNN)
#include <oneapi/dnnl/dnnl.h>
// oneDNN as Debian builds it threads with OpenMP: its sgemm runs omp_get_max_threads() threads of
// the calling thread's OpenMP setting.
extern "C" {
int omp_get_max_threads(void);
void omp_set_num_threads(int threads);
}
#endif

#if defined(GRADEST_BLAS_OPENBLAS)
extern "C" {
void openblas_set_num_threads(int threads);
int openblas_get_num_threads(void);
char* openblas_get_config(void);
// Joins the pthread variant's worker pool (the library's own fork handler calls it); weak: absent
// from other builds of the library, where there is no pool to join.
int blas_thread_shutdown_(void) __attribute__((weak));
}
#elif defined(GRADEST_BLAS_BLIS)
extern "C" {
void bli_thread_set_num_threads(std::int64_t threads);
std::int64_t bli_thread_get_num_threads(void);
const char* bli_info_get_version_str(void);
}
#endif

namespace gradest::blas {

#if defined(GRADEST_HAS_CBLAS)
namespace {
[[maybe_unused]] void cblas_gemm(int ta, int tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
                float beta, float* c, int ldc) {
#if defined(GRADEST_GEMM_ONEDNN)
  // One thread on whichever thread calls (OpenMP's setting is per thread; a thread that never set it
  // would start with all cores). Cheap: one call that reads the setting.
  if (omp_get_max_threads() != 1) omp_set_num_threads(1);
  // dnnl_sgemm is row-major: the column-major C = op(A) op(B) (m x n) is the row-major C^T =
  // op(B)^T op(A)^T (n x m), which is the same call with the operands and their flags swapped.
  const dnnl_status_t status = dnnl_sgemm(tb == kCblasNoTrans ? 'N' : 'T', ta == kCblasNoTrans ? 'N' : 'T', n, m, k,
                                          alpha, b, ldb, a, lda, beta, c, ldc);
  if (status != dnnl_success)
    throw std::runtime_error(fmt::format("gemm: oneDNN's sgemm failed with status {} ({} x {} x {})", int(status), m,
                                         n, k));
#else
  cblas_sgemm(kCblasColMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}
[[maybe_unused]] void cblas_gemm(int ta, int tb, int m, int n, int k, double alpha, const double* a, int lda, const double* b, int ldb,
                double beta, double* c, int ldc) {
  cblas_dgemm(kCblasColMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
}  // namespace
#endif

std::string library() {
#if defined(GRADEST_GEMM_ONEDNN)
  const dnnl_version_t* v = dnnl_version();
  return fmt::format("oneDNN {}.{}.{} (single precision), {}", v->major, v->minor, v->patch, openblas_get_config());
#elif defined(GRADEST_BLAS_OPENBLAS)
  return openblas_get_config();  // "OpenBLAS 0.3.21 <build options> <kernel set>"
#elif defined(GRADEST_BLAS_BLIS)
  return std::string("BLIS ") + bli_info_get_version_str();
#else
  return "Eigen (built-in kernels)";
#endif
}

void use_one_thread() {
#if defined(GRADEST_BLAS_OPENBLAS)
  openblas_set_num_threads(1);
  // The pthread variant starts one worker per core when it loads, before main; at one thread they are
  // never used, but idle they still woke to yield (about 3% of a core each, measured with perf), which
  // takes time from the other processes of a sweep. With the pool joined, a one-thread library runs
  // every call on the caller's thread and starts no worker again.
  if (blas_thread_shutdown_) blas_thread_shutdown_();
#if defined(GRADEST_GEMM_ONEDNN)
  omp_set_num_threads(1);
#endif
#elif defined(GRADEST_BLAS_BLIS)
  bli_thread_set_num_threads(1);
#endif
}

int threads() {
#if defined(GRADEST_GEMM_ONEDNN)
  return std::max(openblas_get_num_threads(), omp_get_max_threads());
#elif defined(GRADEST_BLAS_OPENBLAS)
  return openblas_get_num_threads();
#elif defined(GRADEST_BLAS_BLIS)
  return int(bli_thread_get_num_threads());
#else
  return 1;
#endif
}

void gemm(Op op_a, const Eigen::Ref<const Matrix>& a, Op op_b, const Eigen::Ref<const Matrix>& b, Real beta,
          Eigen::Ref<Matrix> c, Real alpha) {
  const Index m = op_a == Op::none ? a.rows() : a.cols();
  const Index k = op_a == Op::none ? a.cols() : a.rows();
  const Index kb = op_b == Op::none ? b.rows() : b.cols();
  const Index n = op_b == Op::none ? b.cols() : b.rows();
  if (k != kb || c.rows() != m || c.cols() != n)
    throw std::invalid_argument(fmt::format("gemm: shapes ({} x {}) ({} x {}) into {} x {} do not match", m, k, kb,
                                            n, c.rows(), c.cols()));
#if defined(GRADEST_HAS_CBLAS)
  if (m > INT_MAX || n > INT_MAX || k > INT_MAX || a.outerStride() > INT_MAX || b.outerStride() > INT_MAX ||
      c.outerStride() > INT_MAX)
    throw std::length_error(fmt::format("gemm: a dimension above {} ({} x {} x {})", INT_MAX, m, n, k));
  if (m == 0 || n == 0) return;
  if (k == 0) {  // an empty sum: c = beta c (oneDNN refuses K = 0)
    if (beta == Real(0))
      c.setZero();
    else
      c *= beta;
    return;
  }
  // Leading dimensions must be >= 1 even for empty operands.
  auto ld = [](Index stride) { return int(std::max<Index>(stride, 1)); };
  const int ta = op_a == Op::none ? kCblasNoTrans : kCblasTrans;
  const int tb = op_b == Op::none ? kCblasNoTrans : kCblasTrans;
  cblas_gemm(ta, tb, int(m), int(n), int(k), alpha, a.data(), ld(a.outerStride()), b.data(), ld(b.outerStride()),
             beta, c.data(), ld(c.outerStride()));
#else
  if (beta == Real(0))
    c.setZero();
  else if (beta != Real(1))
    c *= beta;
  if (op_a == Op::none && op_b == Op::none)
    c.noalias() += alpha * a * b;
  else if (op_a == Op::transpose && op_b == Op::none)
    c.noalias() += alpha * a.transpose() * b;
  else if (op_a == Op::none)
    c.noalias() += alpha * a * b.transpose();
  else
    c.noalias() += alpha * a.transpose() * b.transpose();
#endif
}

}  // namespace gradest::blas
