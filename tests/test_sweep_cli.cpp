// Sweeps end to end through the gradest binary: the same grid run whole, with --jobs 1 and 2, as
// two shards in two processes then merged, and killed (SIGKILL) then resumed, gives the same
// datasets bit for bit (wall-clock measurements excepted: store/merge.hpp).
#include <catch2/catch.hpp>

#include <H5Cpp.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "store/merge.hpp"

namespace fs = std::filesystem;

namespace {

const char* kConfig = R"([sweep]
name = tiny
exclude = estimator=reinforce seed=2
[train]
model = bernoulli-vae
data = synthetic
synthetic-train = 2000
synthetic-test = 300
latents = 8
estimator = reinforce, reinforce-loo, arm
samples = 2
seed = 1..2
steps = 400
batch = 20
eval-every = 100
iwae-samples = 10
)";

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / fmt_name();
    fs::create_directories(path);
    std::ofstream(path / "tiny.ini") << kConfig;
  }
  ~TempDir() { fs::remove_all(path); }
  static std::string fmt_name() {
    return "gradest-sweep-" + std::to_string(::getpid()) + "-" +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  }
};

int sh(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string binary() { return std::string(GRADEST_BINARY); }

// Every run of a equals the same run of b, and both hold the same runs.
void require_same_runs(const fs::path& a, const fs::path& b) {
  H5::H5File fa(a.string(), H5F_ACC_RDONLY), fb(b.string(), H5F_ACC_RDONLY);
  H5::Group ra = fa.openGroup("/runs"), rb = fb.openGroup("/runs");
  REQUIRE(ra.getNumObjs() == rb.getNumObjs());
  for (hsize_t i = 0; i < ra.getNumObjs(); ++i) {
    const std::string id = ra.getObjnameByIdx(i);
    REQUIRE(rb.nameExists(id));
    INFO("run " << id);
    CHECK(gradest::merge::compare_groups(ra.openGroup(id), rb.openGroup(id)).empty());
  }
}

}  // namespace

TEST_CASE("a sweep gives identical runs with --jobs 1, --jobs 2, and as two merged shards", "[sweep][cli]") {
  TempDir dir;
  const std::string cfg = (dir.path / "tiny.ini").string();
  const std::string quiet = " > /dev/null 2>&1";
  REQUIRE(sh(binary() + " sweep " + cfg + " --jobs 1 --out " + (dir.path / "j1").string() + quiet) == 0);
  REQUIRE(sh(binary() + " sweep " + cfg + " --jobs 2 --out " + (dir.path / "j2").string() + quiet) == 0);
  // Two shards in two concurrent processes, then merged.
  const std::string shards = (dir.path / "sh").string();
  REQUIRE(sh("(" + binary() + " sweep " + cfg + " --jobs 1 --shard 0/2 --out " + shards + quiet + " & " + binary() +
             " sweep " + cfg + " --jobs 1 --shard 1/2 --out " + shards + quiet + "; wait)") == 0);
  REQUIRE(sh(binary() + " merge " + shards + "/sweep-shard-0-of-2.h5 " + shards + "/sweep-shard-1-of-2.h5 -o " +
             shards + "/all.h5" + quiet) == 0);
  {
    H5::H5File f((dir.path / "j1" / "sweep.h5").string(), H5F_ACC_RDONLY);
    CHECK(f.openGroup("/runs").getNumObjs() == 5);  // 3 x 2 minus the excluded run
  }
  require_same_runs(dir.path / "j1" / "sweep.h5", dir.path / "j2" / "sweep.h5");
  require_same_runs(dir.path / "j1" / "sweep.h5", fs::path(shards) / "all.h5");
  // Duplicates holding the same data merge into one run; a duplicate whose data differ is refused,
  // and nothing is written.
  const fs::path same = dir.path / "same.h5", altered = dir.path / "altered.h5", refused = dir.path / "refused.h5";
  REQUIRE(sh(binary() + " merge " + (dir.path / "j1" / "sweep.h5").string() + " " +
             (dir.path / "j2" / "sweep.h5").string() + " -o " + same.string() + quiet) == 0);
  require_same_runs(dir.path / "j1" / "sweep.h5", same);
  fs::copy_file(dir.path / "j1" / "sweep.h5", altered);
  {
    H5::H5File f(altered.string(), H5F_ACC_RDWR);
    H5::Group runs = f.openGroup("/runs");
    H5::DataSet ds = runs.openGroup(runs.getObjnameByIdx(0)).openDataSet("trace/test_elbo");
    std::vector<double> v(static_cast<std::size_t>(ds.getSpace().getSimpleExtentNpoints()));
    ds.read(v.data(), H5::PredType::NATIVE_DOUBLE);
    v.back() += 1e-9;
    ds.write(v.data(), H5::PredType::NATIVE_DOUBLE);
  }
  CHECK(sh(binary() + " merge " + (dir.path / "j1" / "sweep.h5").string() + " " + altered.string() + " -o " +
           refused.string() + quiet) == 2);
  CHECK_FALSE(fs::exists(refused));
}

TEST_CASE("a sweep killed with SIGKILL and resumed ends with every run complete and identical", "[sweep][cli]") {
  TempDir dir;
  const std::string cfg = (dir.path / "tiny.ini").string();
  const std::string whole = (dir.path / "whole").string(), cut = (dir.path / "cut").string();
  REQUIRE(sh(binary() + " sweep " + cfg + " --jobs 2 --out " + whole + " > /dev/null 2>&1") == 0);
  // Kill the sweep and its children (one process group) at a few moments, then resume.
  auto finished_files = [&] {
    int n = 0;
    if (fs::exists(fs::path(cut) / "runs"))
      for (const auto& entry : fs::directory_iterator(fs::path(cut) / "runs")) n += entry.path().extension() == ".h5";
    return n;
  };
  for (const char* delay : {"0.3", "1.0"}) {
    const int killed = sh("setsid sh -c '" + binary() + " sweep " + cfg + " --jobs 2 --resume --out " + cut +
                          " > /dev/null 2>&1' & pid=$!; sleep " + delay +
                          "; /bin/kill -s KILL -- -$pid; wait $pid; exit $?");
    CHECK(killed == 137);  // the sweep was still running and died by SIGKILL
  }
  CHECK(finished_files() < 5);  // the kills cut the sweep short
  REQUIRE(sh(binary() + " sweep " + cfg + " --jobs 2 --resume --out " + cut + " > /dev/null 2>&1") == 0);
  require_same_runs(fs::path(whole) / "sweep.h5", fs::path(cut) / "sweep.h5");
  // No leftovers of killed runs.
  for (const auto& entry : fs::directory_iterator(fs::path(cut) / "runs"))
    CHECK(entry.path().extension() == ".h5");
}

TEST_CASE("SIGINT stops a run and a sweep cleanly; --resume completes the sweep identically", "[sweep][cli][sigint]") {
  TempDir dir;
  const std::string cfg = (dir.path / "tiny.ini").string();
  // One run: interrupted after a moment, its file committed under the final name, valid, marked.
  const std::string run = (dir.path / "run.h5").string();
  const int status = sh("sh -c '" + binary() + " train --model bernoulli-vae --data synthetic --synthetic-train 2000 "
                        "--synthetic-test 300 --latents 8 --steps 1000000 --eval-every 1000 --iwae-samples 10 --quiet --out " +
                        run + " > /dev/null 2>&1 & pid=$!; sleep 1.5; kill -INT $pid; wait $pid'");
  CHECK(status == 130);
  REQUIRE(fs::exists(run));
  {
    H5::H5File f(run, H5F_ACC_RDONLY);
    H5::Group runs = f.openGroup("/runs");
    H5::Group r = runs.openGroup(runs.getObjnameByIdx(0));
    H5::Attribute a = r.openAttribute("status");
    std::string value;
    a.read(a.getStrType(), value);
    CHECK(value == "interrupted");
    CHECK(r.openDataSet("trace/test_elbo").getSpace().getSimpleExtentNpoints() >= 1);
  }
  // A sweep: SIGINT to the whole process group (as a terminal's Ctrl-C does), then --resume.
  const std::string whole = (dir.path / "whole").string(), cut = (dir.path / "cut").string();
  REQUIRE(sh(binary() + " sweep " + cfg + " --jobs 2 --out " + whole + " > /dev/null 2>&1") == 0);
  const int sweep_status = sh("setsid sh -c '" + binary() + " sweep " + cfg + " --jobs 2 --out " + cut +
                              " > /dev/null 2>&1' & pid=$!; sleep 1.0; /bin/kill -s INT -- -$pid; wait $pid; exit $?");
  CHECK((sweep_status == 130 || sweep_status == 0));  // 0 only if every run had already finished
  for (const auto& entry : fs::directory_iterator(fs::path(cut) / "runs"))
    CHECK(entry.path().extension() == ".h5");  // interrupted runs are committed, never left partial
  REQUIRE(sh(binary() + " sweep " + cfg + " --jobs 2 --resume --out " + cut + " > /dev/null 2>&1") == 0);
  require_same_runs(fs::path(whole) / "sweep.h5", fs::path(cut) / "sweep.h5");
}

TEST_CASE("a second sweep on the same output folder is refused, naming the first", "[sweep][cli][lock]") {
  TempDir dir;
  const std::string cfg = (dir.path / "tiny.ini").string(), out = (dir.path / "out").string();
  const fs::path err = dir.path / "second.err";
  // The first sweep in the background; the second starts once the first holds the folder.
  const int second = sh("( " + binary() + " sweep " + cfg + " --jobs 1 --out " + out + " > /dev/null 2>&1 & ); " +
                        "for i in $(seq 100); do [ -s " + out + "/.sweep.lock ] && break; sleep 0.1; done; " +
                        binary() + " sweep " + cfg + " --jobs 1 --resume --out " + out + " > /dev/null 2> " + err.string());
  std::ifstream in(err);
  const std::string message((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  INFO("second sweep: exit " << second << ", stderr: " << message);
  CHECK(second == 2);
  CHECK(message.find("output folder '" + out + "' is in use by another gradest (pid ") != std::string::npos);
  CHECK(std::count(message.begin(), message.end(), '\n') == 1);
  // Once the first has ended, the folder is free again: --resume finds every run done.
  REQUIRE(sh("for i in $(seq 1200); do flock -n " + out + "/.sweep.lock true && exit 0; sleep 0.1; done; exit 1") == 0);
  REQUIRE(fs::exists(fs::path(out) / "sweep.h5"));
  CHECK(sh(binary() + " sweep " + cfg + " --jobs 1 --resume --out " + out + " > /dev/null 2>&1") == 0);
}
