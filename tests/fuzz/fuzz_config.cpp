// libFuzzer target: the sweep config parser and grid expansion (sweep/sweep.hpp) and the
// training configuration's key = value reader (run/train.hpp parse_config_text) on
// arbitrary text. Any input must parse or give a gradest::Error, never a crash.
#include <cstdint>
#include <string>

#include "cli/cli.hpp"
#include "sweep/sweep.hpp"
#include "run/train.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto spec = gradest::sweep::parse_config(text, "fuzz.ini");
    std::size_t grid = 1;
    for (const auto& [key, values] : spec.keys) grid *= values.size() > 0 ? values.size() : 1;
    // Invariant: every expanded run sets every key once, with grid indices 0, 1, 2, ...
    if (grid <= 10000) {
      const auto runs = gradest::sweep::expand(spec);
      FUZZ_CHECK(runs.size() <= grid);  // exclusions only remove runs
      for (std::size_t i = 0; i < runs.size(); ++i) {
        FUZZ_CHECK(runs[i].index == i);
        FUZZ_CHECK(runs[i].settings.size() == spec.keys.size());
      }
    }
  } catch (const gradest::Error&) {
  }
  try {
    auto config = gradest::train::parse_config_text(text);
    std::string error;
    if (config.valid(&error)) config.resolve();
  } catch (const gradest::Error&) {
  }
  return 0;
}
