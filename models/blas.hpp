#pragma once
// The BLAS behind the network's matrix products. With -DGRADEST_BLAS=openblas or blis, Eigen hands
// every dense single- and double-precision matrix product to that library's GEMM (EIGEN_USE_BLAS:
// transposes passed as flags, no copies); with -DGRADEST_BLAS=eigen (the default: the faster here,
// CMakeLists.txt) Eigen's own kernels do them. gradest parallelises across processes (sweeps, --jobs), so the library runs ONE
// thread whatever variant (pthread, OpenMP, serial) the machine has installed: use_one_thread() is
// called by every entry point (the gradest binary, the test runners) before any product.
#include <string>

namespace gradest::blas {

// "OpenBLAS <its build configuration>", "BLIS <version>" or "Eigen (built-in kernels)".
std::string library();
// Sets the library's thread count to 1 (a no-op for Eigen, built with EIGEN_DONT_PARALLELIZE).
void use_one_thread();
// The library's thread count as it reports it (1 for Eigen).
int threads();

}  // namespace gradest::blas
