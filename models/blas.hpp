#pragma once
// The BLAS behind the network's matrix products. With -DGRADEST_BLAS=onednn (the default) the
// network's single-precision products call oneDNN's dnnl_sgemm and everything else (double
// precision, Eigen's other products through EIGEN_USE_BLAS) OpenBLAS; with openblas or blis that
// library's cblas_?gemm does all of them. gemm below passes transposes as flags (no copies) and
// beta = 0 for a product that overwrites, so no pass zeroes the output first. With
// -DGRADEST_BLAS=eigen Eigen's own kernels do them all. Why oneDNN is the default: README "Speed"
// and CMakeLists.txt.
//
// gradest parallelises across processes (sweeps, --jobs), so the library runs ONE thread whatever
// variant (pthread, OpenMP, serial) the machine has installed: use_one_thread() is called by every
// entry point (the gradest binary, the test runners) before any product, and gemm sets one OpenMP
// thread on any other thread that calls it. One thread also keeps every product's summation order
// fixed, so runs are bit-identical across --jobs, shards and reruns.
#include <string>

#include "models/types.hpp"

namespace gradest::blas {

// "oneDNN <version> (single precision), OpenBLAS <its build configuration>", "OpenBLAS <...>",
// "BLIS <version>" or "Eigen (built-in kernels)".
std::string library();
// Sets the library's thread count to 1 (a no-op for Eigen, built with EIGEN_DONT_PARALLELIZE).
void use_one_thread();
// The libraries' thread count as they report it, the larger for oneDNN + OpenBLAS (1 for Eigen).
int threads();

enum class Op { none, transpose };

// c = alpha op(a) op(b) + beta c, for column-major a, b, c of Real (plain matrices or maps with unit
// inner stride; c must already have op(a) op(b)'s shape). beta = 0 overwrites c without reading it
// (BLAS semantics: NaN or garbage in c does not propagate). One GEMM call of the configured library.
void gemm(Op op_a, const Eigen::Ref<const Matrix>& a, Op op_b, const Eigen::Ref<const Matrix>& b, Real beta,
          Eigen::Ref<Matrix> c, Real alpha = Real(1));

}  // namespace gradest::blas
