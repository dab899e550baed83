// libFuzzer target: the IDX image loader (experiments/data.hpp read_idx_images) on arbitrary bytes,
// raw or gzip-compressed. Any input must give a Dataset or a cli::UsageError, never a crash.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "experiments/cli.hpp"
#include "experiments/data.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/gradest-fuzz-idx-" + std::to_string(::getpid());
  if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  try {
    const auto images = gradest::data::read_idx_images(path);
    if (images.size() > 0) (void)images.value(images.size() - 1, images.dim() - 1);
  } catch (const gradest::cli::UsageError&) {
  }
  return 0;
}
