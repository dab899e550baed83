// Bad input, table-driven (issue 8): every case gives a non-zero exit, ONE line on stderr naming the
// problem (the expected words are in the table), and leaves the files it was given and the output
// folder exactly as they were: nothing written, nothing overwritten, no partial file left.
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <H5Cpp.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>

#include "store/h5io.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;

namespace {

// "toy-bernoulli --flag" -> "toy-bernoulli"
std::string text_word(const std::string& command) { return command.substr(0, command.find(' ')); }

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every file below `root` with its contents.
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(root))
    if (entry.is_regular_file()) out[fs::relative(entry.path(), root).string()] = slurp(entry.path());
  return out;
}

// A copy of run.h5 under `name`, changed by `change` through the HDF5 API.
template <class F>
void changed_copy(const fs::path& dir, const std::string& name, F&& change) {
  fs::copy_file(dir / "run.h5", dir / name);
  H5::H5File file((dir / name).string(), H5F_ACC_RDWR);
  H5::Group runs = file.openGroup("/runs");
  change(file, runs, runs.getObjnameByIdx(0));
}

struct Fixture {
  fs::path dir;
  // Files of the kinds issue 13 names: corrupted, without runs, with impossible sizes.
  void damaged_run_files(const std::string& binary) {
    // The first object of the global heap (where variable-length string attributes live) claims
    // 2^40 bytes: libhdf5 1.10 reads past its buffer (SIGSEGV in H5HG_read) when it reads one.
    std::string bytes = slurp(dir / "run.h5");
    const auto heap = bytes.find("GCOL");
    REQUIRE(heap != std::string::npos);
    for (int i = 0; i < 8; ++i) bytes[heap + 24 + i] = i == 5 ? '\x01' : '\0';
    std::ofstream(dir / "corrupt.h5", std::ios::binary) << bytes;
    // Files without runs, from the toy commands, and a gradest file whose /runs is empty.
    for (const char* toy : {"x2 --n 10", "toy", "toy-bernoulli"})
      REQUIRE(std::system((binary + " " + toy + " --repeats 10 --out " + (dir / (text_word(toy) + ".h5")).string() +
                           " > /dev/null").c_str()) == 0);
    changed_copy(dir, "empty-runs.h5", [](H5::H5File&, H5::Group& runs, const std::string& id) { runs.unlink(id); });
    // params/values claiming 2^40 values (chunked, never written: the file stays small).
    changed_copy(dir, "huge.h5", [](H5::H5File&, H5::Group& runs, const std::string& id) {
      H5::Group params = runs.openGroup(id + "/params");
      params.unlink("values");
      hsize_t dims[1] = {hsize_t{1} << 40}, chunk[1] = {1024};
      H5::DSetCreatPropList props;
      props.setChunk(1, chunk);
      params.createDataSet("values", H5::PredType::NATIVE_FLOAT, H5::DataSpace(1, dims), props);
    });
    // params@input_dim holding two numbers where one is read.
    changed_copy(dir, "pair-attribute.h5", [](H5::H5File&, H5::Group& runs, const std::string& id) {
      H5::Group params = runs.openGroup(id + "/params");
      params.removeAttr("input_dim");
      hsize_t two[1] = {2};
      const std::int64_t values[2] = {784, 1};
      params.createAttribute("input_dim", H5::PredType::NATIVE_INT64, H5::DataSpace(1, two))
          .write(H5::PredType::NATIVE_INT64, values);
    });
    // An empty recorded configuration (what a damaged global heap can read back as).
    changed_copy(dir, "no-config.h5", [](H5::H5File&, H5::Group& runs, const std::string& id) {
      H5::Group run = runs.openGroup(id);
      gradest::h5::write_attribute(run, "config", std::string());
    });
    // A data file whose one dataset claims 2^31 rows.
    {
      H5::H5File data((dir / "huge-data.h5").string(), H5F_ACC_TRUNC);
      hsize_t dims[2] = {hsize_t{1} << 31, 784}, chunk[2] = {16, 784};
      H5::DSetCreatPropList props;
      props.setChunk(2, chunk);
      data.createDataSet("data", H5::PredType::NATIVE_FLOAT, H5::DataSpace(2, dims), props);
    }
  }
  Fixture() {
    dir = fs::temp_directory_path() / ("gradest-bad-input-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "out");
    const std::string binary = GRADEST_BINARY;
    // A real gradest run file, and damaged copies of it.
    REQUIRE(std::system((binary + " train --model bernoulli-vae --data synthetic --synthetic-train 200 "
                                  "--synthetic-test 50 --latents 4 --steps 5 --batch 10 --eval-every 5 --iwae-samples 2 "
                                  "--quiet --out " + (dir / "run.h5").string()).c_str()) == 0);
    const std::string run = slurp(dir / "run.h5");
    std::ofstream(dir / "truncated.h5", std::ios::binary) << run.substr(0, run.size() / 2);
    std::ofstream(dir / "text.h5") << "not an HDF5 file\n";
    {
      H5::H5File plain((dir / "plain.h5").string(), H5F_ACC_TRUNC);
      plain.createGroup("/runs");
    }
    fs::copy_file(dir / "run.h5", dir / "future.h5");
    {
      H5::H5File future((dir / "future.h5").string(), H5F_ACC_RDWR);
      H5::Group root = future.openGroup("/");
      gradest::h5::write_attribute(root, "schema_version", std::int64_t{99});
    }
    damaged_run_files(binary);
    // Damaged Fashion-MNIST directories: truncated and corrupted image files.
    const fs::path real = "/usr/share/datasets/fashion-mnist";
    fs::create_directories(dir / "fm-truncated");
    fs::create_directories(dir / "fm-corrupt");
    for (const char* name : {"train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"}) {
      std::ofstream(dir / "fm-truncated" / name, std::ios::binary) << slurp(real / name).substr(0, 5000);
      std::ofstream(dir / "fm-corrupt" / name, std::ios::binary) << std::string(3000, '\x5a');
    }
    std::ofstream(dir / "garbage.ini") << "[train\nmodel = = =\n";
    std::ofstream(dir / "unknown-key.ini") << "[train]\nmodel = bernoulli-vae\nstpes = 10\n";
    std::ofstream(dir / "bad-type.ini") << "[train]\nmodel = bernoulli-vae\nsteps = ten\n";
    // A line that is Boost's own placeholder (its what() looped forever on it; found by fuzzing).
    std::ofstream(dir / "placeholder.ini") << "[train]\nmodel = bernoulli-vae\nencod%invalid_line%xnam\n";
    std::ofstream(dir / "pair.ini") << "[train]\nmodel = bernoulli-vae\nestimator = reinforce, pathwise\n";
    std::ofstream(dir / "existing.h5") << "precious\n";
    std::ofstream(dir / "long-value.ini") << "[train]\nmodel = bernoulli-vae\nestimator = " << std::string(200000, 'a') << "\n";
    // A run file whose recorded configuration was edited (it no longer gives the run id).
    for (const char* name : {"edited-config.h5"}) {
      fs::copy_file(dir / "run.h5", dir / name);
      H5::H5File file((dir / name).string(), H5F_ACC_RDWR);
      H5::Group runs = file.openGroup("/runs");
      H5::Group run = runs.openGroup(runs.getObjnameByIdx(0));
      std::string config = gradest::h5::read_string_attribute(run, "config");
      config.replace(config.find("steps = 5"), 9, "steps = 6");
      gradest::h5::write_attribute(run, "config", config);
    }
    // A data file of a few kB declaring 10^6 x 10^6 values (chunked, never written).
    {
      H5::H5File huge((dir / "huge-declared.h5").string(), H5F_ACC_TRUNC);
      const hsize_t dims[2] = {1000000, 1000000}, chunk[2] = {16, 16};
      H5::DSetCreatPropList props;
      props.setChunk(2, chunk);
      for (const char* name : {"train", "test"})
        huge.createDataSet(name, H5::PredType::NATIVE_FLOAT, H5::DataSpace(2, dims), props);
    }
    std::ofstream(dir / "twice.ini") << "[train]\nmodel = bernoulli-vae\nestimator = arm, arm\n";
    // A FIFO: opening it for reading blocks until a writer comes, so an input must be refused
    // before it is opened (the cases run under `timeout`).
    REQUIRE(::mkfifo((dir / "fifo.h5").c_str(), 0600) == 0);
  }
  ~Fixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

struct Case {
  const char* what;
  std::string args;  // {d} is the fixture folder
  const char* message;
  const char* limit = "";  // shell prefix, e.g. a file-size limit
};

}  // namespace

TEST_CASE("bad input: one line, non-zero exit, nothing written or overwritten", "[cli][bad-input]") {
  Fixture f;
  const std::string small = " --data synthetic --synthetic-train 200 --synthetic-test 50 --steps 5 --batch 10 --quiet";
  const std::string tiny = small + " --latents 4";
  const std::vector<Case> cases = {
      {"unknown subcommand", "trian", "unknown subcommand 'trian'; allowed:"},
      {"option before the subcommand", "--colour", "unknown option '--colour'"},
      {"misspelt option", "train --stpes 3 --out {d}/out/a.h5", "did you mean '--steps'"},
      {"unknown model", "train --model bvae --out {d}/out/a.h5", "allowed: bernoulli-vae, gaussian-vae"},
      {"unknown estimator", "train --estimator reinfroce" + tiny + " --out {d}/out/a.h5", "unknown estimator 'reinfroce'"},
      {"incompatible pair", "train --model bernoulli-vae --estimator pathwise" + tiny + " --out {d}/out/a.h5",
       "does not apply to bernoulli latents; allowed:"},
      {"learning rate <= 0", "train --lr 0" + tiny + " --out {d}/out/a.h5", "--lr must be > 0"},
      {"K < 1", "train --samples 0" + tiny + " --out {d}/out/a.h5", "samples >= 1"},
      {"K too small for vimco", "train --estimator vimco --samples 1" + tiny + " --out {d}/out/a.h5", "samples >= 2"},
      {"batch larger than the data", "train --model bernoulli-vae --data synthetic --synthetic-train 100 --batch 200 --out {d}/out/a.h5",
       "larger than the 100 training examples"},
      {"latents <= 0", "train --model bernoulli-vae --data synthetic --latents 0 --out {d}/out/a.h5", "--latents must be >= 1"},
      {"probe draws < 2", "train --probe-every 5 --probe-draws 1" + tiny + " --out {d}/out/a.h5", "--probe-draws must be"},
      {"x2: N <= 0", "x2 --n 0 --out {d}/out/a.h5", "every N must be an integer >= 1"},
      {"x2: a stray word after a value", "x2 --phi 1 2 --out {d}/out/a.h5", "unexpected argument '2'"},
      {"train: a stray word", "train" + tiny + " extra --out {d}/out/a.h5", "unexpected argument 'extra'"},
      {"check-unbiased: a stray word", "check-unbiased --model x2 --estimator reinforce oops", "unexpected argument 'oops'"},
      {"variance: a stray word", "variance --from {d}/run.h5 --estimators arm x --out {d}/out/a.h5",
       "unexpected argument 'x'"},
      {"bench: negative process count", "bench --processes 1,-1", "--processes takes counts in 1..1024"},
      {"toy: sigma <= 0", "toy --sigma 0 --out {d}/out/a.h5", "sigma"},
      {"malformed sweep config", "sweep {d}/garbage.ini --out {d}/out/s", "malformed config"},
      {"unknown config key", "sweep {d}/unknown-key.ini --out {d}/out/s", "unknown option '--stpes'"},
      {"config value of the wrong type", "sweep {d}/bad-type.ini --out {d}/out/s", "steps"},
      // Values holding Boost's %placeholders%: a CPU limit turns a hang into a failed case.
      {"placeholder in a config line", "sweep {d}/placeholder.ini --out {d}/out/s", "encod%invalid_line%xnam", "ulimit -t 20; "},
      {"placeholder in an option value", "x2 --repeats %value% --out {d}/out/a.h5", "the argument ('%value%') for option '--repeats' is invalid", "ulimit -t 20; "},
      {"another placeholder in a value", "x2 --repeats %canonical_option% --out {d}/out/a.h5", "the argument ('%canonical_option%') for option '--repeats' is invalid", "ulimit -t 20; "},
      {"incompatible pair in a sweep", "sweep {d}/pair.ini --out {d}/out/s", "does not apply to bernoulli latents"},
      {"missing sweep config", "sweep {d}/none.ini --out {d}/out/s", "does not exist"},
      {"missing dataset", "train --data-dir {d}/nowhere --steps 1 --out {d}/out/a.h5", "install the Debian package dataset-fashion-mnist"},
      {"truncated dataset", "train --data-dir {d}/fm-truncated --steps 1 --out {d}/out/a.h5", "fm-truncated"},
      {"corrupted dataset", "train --data-dir {d}/fm-corrupt --steps 1 --out {d}/out/a.h5", "fm-corrupt"},
      {"missing user data", "train --data {d}/none.h5 --out {d}/out/a.h5", "does not exist"},
      {"summarize: not HDF5", "summarize {d}/text.h5", "not an HDF5 file"},
      {"summarize: truncated", "summarize {d}/truncated.h5", "truncated"},
      {"summarize: not gradest's", "summarize {d}/plain.h5", "not a gradest file"},
      {"summarize: other schema", "summarize {d}/future.h5", "schema version 99"},
      {"merge: not gradest's", "merge {d}/run.h5 {d}/plain.h5 -o {d}/out/m.h5", "not a gradest file"},
      // Inputs that are not regular files, and outputs that must never be replaced (issue 13).
      {"summarize: a FIFO", "summarize {d}/fifo.h5", "is not a regular file", "timeout 20 "},
      {"merge: a FIFO", "merge {d}/run.h5 {d}/fifo.h5 -o {d}/out/m.h5", "is not a regular file", "timeout 20 "},
      {"rerun: a FIFO", "rerun {d}/fifo.h5", "is not a regular file", "timeout 20 "},
      {"variance --from a FIFO", "variance --from {d}/fifo.h5 --estimators arm --out {d}/out/a.h5",
       "is not a regular file", "timeout 20 "},
      {"train --data a FIFO", "train --model bernoulli-vae --data {d}/fifo.h5 --binarize none --out {d}/out/a.h5",
       "is not a regular file", "timeout 20 "},
      {"train --init-from a FIFO", "train" + tiny + " --init-from {d}/fifo.h5 --out {d}/out/a.h5",
       "is not a regular file", "timeout 20 "},
      {"sweep config: a FIFO", "sweep {d}/fifo.h5 --out {d}/out/s", "is not a regular file", "timeout 20 "},
      {"sweep config: a device", "sweep /dev/zero --out {d}/out/s", "is not a regular file", "timeout 20 "},
      {"x2 --force over a FIFO", "x2 --n 10 --repeats 10 --out {d}/fifo.h5 --force", "is not a regular file",
       "timeout 20 "},
      {"variance writing over its own input", "variance --from {d}/run.h5 --estimators arm --draws 5 --out {d}/run.h5 --force",
       "is an input of this command"},
      {"encode writing over its own input", "encode --from {d}/run.h5 --out {d}/run.h5 --force",
       "is an input of this command"},
      {"merge: truncated", "merge {d}/run.h5 {d}/truncated.h5 -o {d}/out/m.h5", "truncated"},
      {"merge: other schema", "merge {d}/run.h5 {d}/future.h5 -o {d}/out/m.h5", "schema version 99"},
      {"variance: not gradest's", "variance --from {d}/plain.h5 --estimators reinforce --draws 10 --out {d}/out/v.h5", "gradest"},
      {"variance: truncated", "variance --from {d}/truncated.h5 --estimators reinforce --draws 10 --out {d}/out/v.h5", "truncated"},
      {"variance: other schema", "variance --from {d}/future.h5 --estimators reinforce --draws 10 --out {d}/out/v.h5", "schema version 99"},
      {"rerun: not HDF5", "rerun {d}/text.h5", "not an HDF5 file"},
      {"rerun: other schema", "rerun {d}/future.h5", "schema version 99"},
      // Sizes are bounded before anything is allocated (issue 13): the option, the memory and the limit.
      {"train: 10^6 latents", "train" + small + " --latents 1000000 --out {d}/out/a.h5",
       "reduce --latents, --latent-categories, --encoder or --decoder", "ulimit -v 4000000; "},
      {"train: 10^6 hidden units", "train" + small + " --latents 4 --encoder 1000000,1000000 --out {d}/out/a.h5",
       "reduce --latents, --latent-categories, --encoder or --decoder", "ulimit -v 4000000; "},
      {"train: 10^8 samples", "train" + small + " --latents 4 --estimator reinforce-loo --samples 100000000 --out {d}/out/a.h5",
       "reduce --batch or --samples", "ulimit -v 4000000; "},
      {"train: 10^9 importance samples", "train" + small + " --latents 4 --iwae-samples 1000000000 --out {d}/out/a.h5",
       "reduce --iwae-samples", "ulimit -v 4000000; "},
      {"train: 10^9 synthetic examples", "train --data synthetic --synthetic-train 1000000000 --latents 4 --steps 5 --batch 10 "
       "--quiet --out {d}/out/a.h5", "reduce --synthetic-train", "ulimit -v 4000000; "},
      {"categorical-vae: 10^5 x 10^5 latent columns", "train --model categorical-vae --data synthetic --synthetic-train 200 "
       "--synthetic-test 50 --latents 100000 --latent-categories 100000 --steps 5 --batch 10 --quiet --out {d}/out/a.h5",
       "more than the 2147483647"},
      {"train: data file declaring 10^12 values", "train --model bernoulli-vae --data {d}/huge-declared.h5 --binarize none --out {d}/out/a.h5",
       "over the 1024 MiB gradest reads", "ulimit -v 4000000; "},
      {"toy: 10^10 repeats", "toy --repeats 10000000000 --out {d}/out/a.h5", "reduce --repeats", "ulimit -v 4000000; "},
      {"toy: 10^9 samples", "toy --samples 1000000000 --out {d}/out/a.h5", "objective evaluations"},
      {"toy-bernoulli: 10^10 repeats", "toy-bernoulli --repeats 10000000000 --out {d}/out/a.h5", "reduce --repeats or --samples"},
      {"toy-bernoulli: 10^9 samples", "toy-bernoulli --samples 1000000000 --estimators reinforce --out {d}/out/a.h5",
       "objective evaluations"},
      {"toy-bernoulli: 13 samples for unordered-set", "toy-bernoulli --samples 13 --out {d}/out/a.h5",
       "option '--samples': unordered-set takes at most 12 samples, got 13"},
      {"toy-bernoulli: 10^9 repeats", "toy-bernoulli --repeats 1000000000 --estimators reinforce --t 0.5 --out {d}/out/a.h5",
       "reduce --repeats or --samples", "ulimit -v 4000000; "},
      {"x2: N = 10^10", "x2 --n 10000000000 --out {d}/out/a.h5", "objective evaluations"},
      {"x2: 10^10 repeats", "x2 --n 1 --repeats 10000000000 --out {d}/out/a.h5", "reduce --repeats",
       "ulimit -v 4000000; "},
      {"x2: phi = 1e308", "x2 --phi 1e308 --out {d}/out/a.h5", "option '--phi'"},
      {"x2: phi = -inf", "x2 --phi=-inf --out {d}/out/a.h5", "option '--phi'"},
      {"check-unbiased: 2 x 10^9 samples", "check-unbiased --model bernoulli-vae --estimator reinforce --samples 2000000000",
       "objective evaluations"},
      {"encode: 10^8 samples", "encode --from {d}/run.h5 --samples 100000000 --out {d}/out/a.h5", "reduce --samples",
       "ulimit -v 4000000; "},
      {"sample: 10^10 draws", "sample --from {d}/run.h5 --count 10000000000 --out {d}/out/a.h5", "reduce --count",
       "ulimit -v 4000000; "},
      {"variance: 10^12 draws", "variance --from {d}/run.h5 --estimators reinforce --draws 1000000000000 --out {d}/out/a.h5",
       "objective evaluations"},
      {"sweep: a 200,000-character value", "sweep {d}/long-value.ini --out {d}/out/s", "at most 4096"},
      // rerun trusts nothing it reads.
      {"rerun: an edited recorded configuration", "rerun {d}/edited-config.h5", "does not match its recorded configuration"},
      {"rerun --out over a file", "rerun {d}/run.h5 --out {d}/existing.h5", "exists; pass --force"},
      // Corrupted files (issue 13): libhdf5 crashes reading corrupt.h5; gradest refuses it in one line.
      {"summarize: corrupted (libhdf5 crashes)", "summarize {d}/corrupt.h5", "'{d}/corrupt.h5' is corrupted"},
      {"merge: corrupted", "merge {d}/run.h5 {d}/corrupt.h5 -o {d}/out/m.h5", "'{d}/corrupt.h5' is corrupted"},
      {"rerun: corrupted", "rerun {d}/corrupt.h5", "'{d}/corrupt.h5' is corrupted"},
      {"variance --from corrupted", "variance --from {d}/corrupt.h5 --estimators arm --out {d}/out/a.h5",
       "'{d}/corrupt.h5' is corrupted"},
      {"encode --from corrupted", "encode --from {d}/corrupt.h5 --out {d}/out/a.h5", "'{d}/corrupt.h5' is corrupted"},
      {"train --init-from corrupted", "train" + tiny + " --init-from {d}/corrupt.h5 --out {d}/out/a.h5",
       "'{d}/corrupt.h5' is corrupted"},
      {"train --data corrupted", "train --model bernoulli-vae --data {d}/corrupt.h5 --out {d}/out/a.h5",
       "'{d}/corrupt.h5' is corrupted"},
      // Sizes read from a file are bounded before allocation.
      {"variance: a dataset extent of 2^40", "variance --from {d}/huge.h5 --estimators arm --out {d}/out/a.h5",
       "over the 1024 MiB gradest reads"},
      {"summarize: a dataset extent of 2^40", "summarize {d}/huge.h5", "/params/values: its size"},
      {"train --init-from: a dataset extent of 2^40", "train" + tiny + " --init-from {d}/huge.h5 --out {d}/out/a.h5",
       "over the 1024 MiB gradest reads"},
      {"train --data: 2^31 rows", "train --model bernoulli-vae --data {d}/huge-data.h5 --binarize none --out {d}/out/a.h5",
       "over the 1024 MiB gradest reads"},
      {"variance: a two-valued scalar attribute", "variance --from {d}/pair-attribute.h5 --estimators arm --out {d}/out/a.h5",
       "params@input_dim is not one number"},
      {"rerun: empty recorded configuration", "rerun {d}/no-config.h5", "has an empty recorded configuration"},
      {"variance: empty recorded configuration", "variance --from {d}/no-config.h5 --estimators arm --out {d}/out/a.h5",
       "names no model"},
      // Files without runs, and inputs that are not gradest's.
      {"merge: files without runs", "merge {d}/x2.h5 {d}/toy.h5 -o {d}/out/m.h5", "'{d}/x2.h5' holds no training runs"},
      {"merge: a run file and a toy file", "merge {d}/run.h5 {d}/toy-bernoulli.h5 -o {d}/out/m.h5",
       "'{d}/toy-bernoulli.h5' holds no training runs"},
      {"merge: an empty /runs", "merge {d}/empty-runs.h5 -o {d}/out/m.h5", "its /runs group is empty"},
      {"merge: an input named twice", "merge {d}/run.h5 {d}/run.h5 -o {d}/out/m.h5", "file '{d}/run.h5' is listed twice"},
      {"summarize: a file without runs", "summarize {d}/toy.h5", "holds no training runs"},
      {"rerun: a file without runs", "rerun {d}/x2.h5", "holds no training runs"},
      {"variance --from a file without runs", "variance --from {d}/x2.h5 --estimators arm --out {d}/out/a.h5",
       "holds no training runs"},
      {"train --init-from a file without runs", "train" + tiny + " --init-from {d}/toy.h5 --out {d}/out/a.h5",
       "holds no training runs"},
      {"train --init-from without schema_version", "train" + tiny + " --init-from {d}/plain.h5 --out {d}/out/a.h5",
       "'{d}/plain.h5' is not a gradest file (no schema_version attribute)"},
      {"train --init-from another schema", "train" + tiny + " --init-from {d}/future.h5 --out {d}/out/a.h5",
       "schema version 99"},
      {"train --init-from not HDF5", "train" + tiny + " --init-from {d}/text.h5 --out {d}/out/a.h5", "not an HDF5 file"},
      // Lists that are sets hold each value once.
      {"toy-bernoulli: an estimator twice", "toy-bernoulli --estimators arm,arm --out {d}/out/a.h5",
       "option '--estimators': estimator 'arm' is listed twice"},
      {"toy-bernoulli: a target twice", "toy-bernoulli --t 0.4,0.4 --out {d}/out/a.h5", "value '0.4' is listed twice"},
      // The categorical toy and check-unbiased's estimator options.
      {"toy-categorical: one category", "toy-categorical --categories 1 --out {d}/out/a.h5",
       "option '--categories': must be an integer from 2 to 1024, got 1"},
      {"toy-categorical: 3 logits for 4 categories", "toy-categorical --categories 4 --theta 1,2,3 --out {d}/out/a.h5",
       "option '--theta': give one number or C = 4 numbers, got 3"},
      {"toy-categorical: an infinite logit", "toy-categorical --categories 2 --theta 1,inf --out {d}/out/a.h5",
       "option '--theta'"},
      {"toy-categorical: logits 100 apart", "toy-categorical --categories 2 --theta 0,100 --out {d}/out/a.h5",
       "logits at most 80 apart"},
      {"toy-categorical: a Gaussian estimator", "toy-categorical --estimators pathwise --out {d}/out/a.h5",
       "'pathwise' does not accept categorical latents; allowed: reinforce,"},
      {"toy-categorical: a bound estimator", "toy-categorical --estimators vimco --out {d}/out/a.h5",
       "'vimco' does not estimate a categorical expectation"},
      {"toy-categorical: more set samples than values", "toy-categorical --categories 3 --samples 4 --estimators "
       "unordered-set --out {d}/out/a.h5", "so S <= 3; got 4"},
      {"toy-bernoulli: 3 distinct samples of 2 values", "toy-bernoulli --samples 3 --out {d}/out/a.h5",
       "unordered-set draws S distinct values of the toy's 2, so S <= 2; got 3"},
      {"toy-categorical: 10^10 repeats", "toy-categorical --repeats 10000000000 --out {d}/out/a.h5",
       "lower --samples, --repeats or --categories"},
      {"toy-categorical: an estimator twice", "toy-categorical --estimators indecater,indecater --out {d}/out/a.h5",
       "estimator 'indecater' is listed twice"},
      {"toy-categorical: a bad temperature", "toy-categorical --temperature 0 --out {d}/out/a.h5",
       "temperature must be > 0, got 0"},
      {"check-unbiased: a bad temperature", "check-unbiased --model toy-categorical --estimator gumbel-softmax "
       "--temperature abc", "temperature"},
      {"x2: a phi twice", "x2 --phi 1,2,1 --out {d}/out/a.h5", "option '--phi': value '1' is listed twice"},
      {"x2: an N twice (list and range)", "x2 --n 10,5..10 --out {d}/out/a.h5", "option '--n': value '10' is listed twice"},
      {"toy: a k twice", "toy --k 0:1:3,1 --out {d}/out/a.h5", "option '--k': value '1' is listed twice"},
      {"variance: an estimator twice", "variance --from {d}/run.h5 --estimators arm,arm --out {d}/out/a.h5",
       "'arm' is listed twice"},
      {"train: a probe estimator twice", "train" + tiny + " --probe-every 5 --probe-estimators arm,arm --out {d}/out/a.h5",
       "'arm' is listed twice"},
      {"summarize: a key twice", "summarize {d}/run.h5 --by estimator,estimator", "key 'estimator' is listed twice"},
      {"bench: a process count twice", "bench --processes 1,1", "count '1' is listed twice"},
      {"sweep: a grid value twice", "sweep {d}/twice.ini --out {d}/out/s", "key 'estimator' lists 'arm' twice"},
      {"output exists", "x2 --repeats 10 --n 10 --out {d}/existing.h5", "exists; pass --force"},
      {"output folder missing", "x2 --repeats 10 --n 10 --out {d}/nowhere/a.h5", "does not exist"},
      {"merge: disk full (file-size limit; libhdf5 crashed in H5Ocopy)", "merge {d}/run.h5 -o {d}/out/m.h5", "disk full",
       "ulimit -f 4; "},
      {"disk full (file-size limit)", "x2 --repeats 10 --out {d}/out/a.h5", "disk full", "ulimit -f 4; "},
      {"disk full during training", "train --data synthetic --synthetic-train 200 --synthetic-test 50 --latents 4 --steps 300 --batch 10 --eval-every 10 --quiet --out {d}/out/a.h5", "disk full", "ulimit -f 16; "},
  };
  const auto before = snapshot(f.dir);
  for (const auto& c : cases) {
    if (gradest::testing::kAddressSanitizer && std::string(c.limit).find("ulimit -v") != std::string::npos) continue;
    std::string args = c.args;
    for (auto pos = args.find("{d}"); pos != std::string::npos; pos = args.find("{d}"))
      args.replace(pos, 3, f.dir.string());
    const fs::path err = f.dir.parent_path() / ("gradest-bad-input-" + std::to_string(::getpid()) + ".err");
    const std::string command = std::string("(") + c.limit + GRADEST_BINARY + " " + args + ") > /dev/null 2> " + err.string();
    const int status = std::system(command.c_str());
    const int exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    const std::string message = slurp(err);
    fs::remove(err);
    std::string expected = c.message;
    for (auto pos = expected.find("{d}"); pos != std::string::npos; pos = expected.find("{d}"))
      expected.replace(pos, 3, f.dir.string());
    INFO(c.what << ": gradest " << args << "\n  exit " << exit_code << ", stderr: " << message);
    CHECK(exit_code != 0);
    CHECK(exit_code != -1);
    CHECK(message.find(expected) != std::string::npos);
    CHECK(std::count(message.begin(), message.end(), '\n') == 1);
    CHECK(snapshot(f.dir) == before);
  }
}

TEST_CASE("gradest rerun reproduces a recorded run bit for bit and reports a changed one", "[cli][rerun]") {
  Fixture f;
  const std::string binary = GRADEST_BINARY;
  CHECK(std::system((binary + " rerun " + (f.dir / "run.h5").string() + " > /dev/null 2>&1").c_str()) == 0);
  // Any recorded value changed by one ulp (a dataset, an attribute, the synthetic truth) is found.
  using Edit = std::function<void(H5::Group&)>;
  auto nudge_float = [](H5::DataSet values) {
    std::vector<float> v(static_cast<std::size_t>(values.getSpace().getSimpleExtentNpoints()));
    values.read(v.data(), H5::PredType::NATIVE_FLOAT);
    v[0] = std::nextafter(v[0], 1e30f);
    values.write(v.data(), H5::PredType::NATIVE_FLOAT);
  };
  const std::vector<std::pair<const char*, Edit>> edits = {
      {"params/values", [&](H5::Group& run) { nudge_float(run.openDataSet("params/values")); }},
      {"truth/values", [&](H5::Group& run) { nudge_float(run.openDataSet("truth/values")); }},
      {"final_test_elbo", [](H5::Group& run) {
         double value = 0;
         run.openAttribute("final_test_elbo").read(H5::PredType::NATIVE_DOUBLE, &value);
         gradest::h5::write_attribute(run, "final_test_elbo", std::nextafter(value, 1e300));
       }},
      {"status", [](H5::Group& run) { gradest::h5::write_attribute(run, "status", std::string("diverged")); }},
      {"an added attribute", [](H5::Group& run) { gradest::h5::write_attribute(run, "note", std::string("x")); }},
  };
  for (const auto& [what, edit] : edits) {
    INFO("changed: " << what);
    const fs::path changed = f.dir / "changed.h5";
    fs::remove(changed);
    fs::copy_file(f.dir / "run.h5", changed);
    {
      H5::H5File file(changed.string(), H5F_ACC_RDWR);
      H5::Group runs = file.openGroup("/runs");
      H5::Group run = runs.openGroup(runs.getObjnameByIdx(0));
      edit(run);
    }
    const int status = std::system((binary + " rerun " + changed.string() + " > /dev/null 2>&1").c_str());
    CHECK(WEXITSTATUS(status) == 1);
  }
}

TEST_CASE("gradest rerun reruns the training probe a run was recorded with", "[cli][rerun]") {
  Fixture f;
  const std::string binary = GRADEST_BINARY;
  const fs::path probed = f.dir / "probed.h5";
  REQUIRE(std::system((binary + " train --model bernoulli-vae --data synthetic --synthetic-train 200 --synthetic-test 50 "
                                "--latents 4 --steps 20 --batch 10 --eval-every 10 --iwae-samples 2 --probe-every 10 "
                                "--probe-estimators reinforce,arm:4 --probe-draws 5 --quiet --out " + probed.string())
                           .c_str()) == 0);
  CHECK(std::system((binary + " rerun " + probed.string() + " > /dev/null 2>&1").c_str()) == 0);
  {
    H5::H5File file(probed.string(), H5F_ACC_RDWR);
    H5::Group runs = file.openGroup("/runs");
    H5::DataSet trace = runs.openGroup(runs.getObjnameByIdx(0)).openDataSet("variance/arm-S4/trace_encoder");
    std::vector<double> v(static_cast<std::size_t>(trace.getSpace().getSimpleExtentNpoints()));
    trace.read(v.data(), H5::PredType::NATIVE_DOUBLE);
    v[1] = std::nextafter(v[1], 1e300);
    trace.write(v.data(), H5::PredType::NATIVE_DOUBLE);
  }
  const int status = std::system((binary + " rerun " + probed.string() + " > /dev/null 2>&1").c_str());
  CHECK(WEXITSTATUS(status) == 1);
}

TEST_CASE("two concurrent writers to one output: one wins, the other is refused and its result kept aside",
          "[cli][concurrency]") {
  Fixture f;
  const std::string binary = GRADEST_BINARY;
  const fs::path out = f.dir / "out" / "same.h5";
  const std::string run = binary + " train --model bernoulli-vae --data synthetic --synthetic-train 2000 --synthetic-test 200 "
                                   "--latents 8 --steps 300 --batch 20 --eval-every 100 --iwae-samples 5 --quiet --out " +
                          out.string();
  const fs::path err_a = f.dir / "a.err", err_b = f.dir / "b.err";
  const int status = std::system(("(" + run + " 2> " + err_a.string() + "; echo $? > " + (f.dir / "a.rc").string() + ") & (" +
                                  run + " 2> " + err_b.string() + "; echo $? > " + (f.dir / "b.rc").string() + ") & wait")
                                     .c_str());
  REQUIRE(status == 0);
  const int a = std::stoi(slurp(f.dir / "a.rc")), b = std::stoi(slurp(f.dir / "b.rc"));
  INFO("exits " << a << " and " << b << "; stderr: " << slurp(err_a) << " | " << slurp(err_b));
  REQUIRE(std::min(a, b) == 0);
  REQUIRE(std::max(a, b) == 2);
  const std::string message = slurp(a == 2 ? err_a : err_b);
  CHECK(std::count(message.begin(), message.end(), '\n') == 1);
  CHECK(message.find(out.string()) != std::string::npos);
  // The winner's run is whole (rerun reproduces it); the loser's finished result was not lost.
  CHECK(std::system((binary + " rerun " + out.string() + " > /dev/null 2>&1").c_str()) == 0);
  if (message.find("created by another process") != std::string::npos) {
    bool kept = false;
    for (const auto& entry : fs::directory_iterator(f.dir / "out"))
      kept = kept || entry.path().filename().string().rfind("same.h5.unsaved-", 0) == 0;
    CHECK(kept);
  } else {
    CHECK(message.find("exists; pass --force") != std::string::npos);  // the second started after the first ended
  }
}
