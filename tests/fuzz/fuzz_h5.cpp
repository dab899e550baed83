// libFuzzer target: the readers of gradest run files on arbitrary bytes. The bytes are written to a
// file and read as the commands read their inputs: the one opening place (store/h5read.hpp:
// signature, sandboxed read of everything, schema, runs), the summary reader (summarize), open_run
// and the parameter reader (rerun, variance, encode, --init-from), and merge's comparison of runs.
// Any input must give a result or a gradest::Error, never a crash, a hang or an escaped
// H5::Exception. Seed corpus: tests/fuzz/corpus/h5/ (a tiny run file written by gradest train).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "cli/cli.hpp"
#include "run/train.hpp"
#include "store/h5read.hpp"
#include "store/merge.hpp"
#include "store/params.hpp"
#include "store/summary.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {
void read_run_file(const std::string& path) {
  H5::H5File file = gradest::h5::open_run_file(path);
  const auto runs = gradest::analysis::read_runs(file);
  FUZZ_CHECK(!runs.empty());  // open_run_file refuses a file without runs
  for (const auto& record : runs) {
    H5::Group run = gradest::h5::open_run(file, path, record.id);
    FUZZ_CHECK(gradest::merge::compare_groups(run, run).empty());
    try {
      gradest::train::TrainConfig config;
      const auto vae = gradest::train::load_model(run, &config);
      FUZZ_CHECK(vae != nullptr);
    } catch (const gradest::Error&) {  // a run without a model (a variance file's) or a damaged one
    }
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = (H5::Exception::dontPrint(), true);
  (void)quiet;
  static const std::string path = "/tmp/gradest-fuzz-h5-" + std::to_string(::getpid()) + ".h5";
  if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  try {
    read_run_file(path);
  } catch (const gradest::Error&) {
  }
  return 0;
}
