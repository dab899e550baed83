#include "models/blas.hpp"

#include <cstdint>

#if defined(GRADEST_BLAS_OPENBLAS)
extern "C" {
void openblas_set_num_threads(int threads);
int openblas_get_num_threads(void);
char* openblas_get_config(void);
}
#elif defined(GRADEST_BLAS_BLIS)
extern "C" {
void bli_thread_set_num_threads(std::int64_t threads);
std::int64_t bli_thread_get_num_threads(void);
const char* bli_info_get_version_str(void);
}
#endif

namespace gradest::blas {

std::string library() {
#if defined(GRADEST_BLAS_OPENBLAS)
  return std::string("OpenBLAS ") + openblas_get_config();
#elif defined(GRADEST_BLAS_BLIS)
  return std::string("BLIS ") + bli_info_get_version_str();
#else
  return "Eigen (built-in kernels)";
#endif
}

void use_one_thread() {
#if defined(GRADEST_BLAS_OPENBLAS)
  openblas_set_num_threads(1);
#elif defined(GRADEST_BLAS_BLIS)
  bli_thread_set_num_threads(1);
#endif
}

int threads() {
#if defined(GRADEST_BLAS_OPENBLAS)
  return openblas_get_num_threads();
#elif defined(GRADEST_BLAS_BLIS)
  return int(bli_thread_get_num_threads());
#else
  return 1;
#endif
}

}  // namespace gradest::blas
