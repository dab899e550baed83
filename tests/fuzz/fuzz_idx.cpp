// libFuzzer target: the IDX image loader (store/data.hpp read_idx_images) on arbitrary bytes,
// raw or gzip-compressed. Any input must give a Dataset or a gradest::Error, never a crash.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "cli/cli.hpp"
#include "store/data.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/gradest-fuzz-idx-" + std::to_string(::getpid());
  if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  try {
    const auto images = gradest::data::read_idx_images(path);
    // Invariants of an accepted file: non-empty, and every pixel an intensity in [0, 1].
    FUZZ_CHECK(images.size() >= 1 && images.dim() >= 1);
    for (gradest::Index i = 0; i < images.size(); ++i)
      for (gradest::Index j = 0; j < images.dim(); ++j) {
        const auto v = images.value(i, j);
        FUZZ_CHECK(v >= 0 && v <= 1);
      }
  } catch (const gradest::Error&) {
  }
  return 0;
}
