// Corrupted HDF5 files never crash gradest (issue 13). A valid run file (with a probe's variance
// group) gets random bytes flipped, from a fixed-seed generator, trial after trial; summarize,
// merge (alone and against the intact file), variance --from and rerun read each copy in a child
// process. Required: no signal; exit 0 (a correct read of the changed bytes: most flips in raw
// data), or a non-zero exit with exactly one line on stderr naming the file (rerun's exit 1 with
// "DIFFERENT" on stdout is its report of a changed run); nothing left in the output folder but a
// successful command's output.
//
// Before store/h5sandbox, about one copy in twenty crashed libhdf5 (SIGSEGV in H5HG_read, from
// H5Aread of a variable-length string attribute) and some hung (H5HG__cache_heap_deserialize).
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Outcome {
  bool signaled = false;
  int signal = 0, exit_code = -1;
  std::string out, err;
};

// Runs gradest with `args` (no shell), stdout and stderr into files of `dir`.
Outcome run(const std::vector<std::string>& args, const fs::path& dir) {
  std::vector<std::string> argv_text = {GRADEST_BINARY};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  const fs::path out = dir / "stdout", err = dir / "stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  Outcome o;
  o.signaled = WIFSIGNALED(status);
  o.signal = o.signaled ? WTERMSIG(status) : 0;
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  o.out = slurp(out);
  o.err = slurp(err);
  fs::remove(out);
  fs::remove(err);
  return o;
}

struct Corpus {
  fs::path dir;
  std::string original;
  Corpus() {
    dir = fs::temp_directory_path() / ("gradest-corrupt-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "out");
    const std::string command = std::string(GRADEST_BINARY) +
                                " train --model bernoulli-vae --data synthetic --synthetic-train 200 --synthetic-test 50 "
                                "--latents 4 --steps 5 --batch 10 --eval-every 5 --iwae-samples 2 --probe-every 5 "
                                "--probe-estimators reinforce --probe-draws 5 --quiet --out " +
                                (dir / "run.h5").string();
    REQUIRE(std::system(command.c_str()) == 0);
    original = slurp(dir / "run.h5");
  }
  ~Corpus() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  // A copy of the run file with 1 to 64 random bytes XORed with random non-zero values.
  fs::path corrupt(int trial, std::mt19937_64& rng) const {
    std::string bytes = original;
    const int flips = 1 + int(rng() % 64);
    for (int i = 0; i < flips; ++i) bytes[rng() % bytes.size()] ^= char(1 + rng() % 255);
    const fs::path path = dir / ("corrupt-" + std::to_string(trial) + ".h5");
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
};

// Checks one command on one corrupted copy; `output` is the file a successful command writes.
struct Tally {
  int refused = 0;  // summarize's non-zero exits
  int crashes = 0;  // refusals of a copy on which libhdf5 itself crashed or hung (in the sandbox)
};

// Returns the exit status.
int check(const Corpus& c, const fs::path& file, const std::vector<std::string>& args, const fs::path& output,
          Tally& tally) {
  const Outcome o = run(args, c.dir);
  std::string command;
  for (const auto& a : args) command += " " + a;
  INFO("gradest" << command << "\n  exit " << o.exit_code << ", signal " << o.signal << ", stderr: " << o.err);
  REQUIRE_FALSE(o.signaled);
  const bool rerun_differs = args.front() == "rerun" && o.exit_code == 1 && o.err.empty() &&
                             o.out.find("DIFFERENT") != std::string::npos;
  if (o.exit_code != 0 && !rerun_differs) {
    CHECK((o.exit_code == 1 || o.exit_code == 2));
    CHECK(std::count(o.err.begin(), o.err.end(), '\n') == 1);
    CHECK(o.err.find(file.filename().string()) != std::string::npos);
  }
  if (o.exit_code == 0 && !output.empty()) CHECK(fs::exists(output));
  fs::remove(output);
  CHECK(fs::is_empty(c.dir / "out"));
  if (o.err.find("the HDF5 library") != std::string::npos) ++tally.crashes;
  return o.exit_code;
}

void corruption_trials(int trials, int every_slow_command) {
  Corpus c;
  std::mt19937_64 rng(20261313);  // fixed: the same copies every time
  const fs::path merged = c.dir / "out" / "m.h5", variance = c.dir / "out" / "v.h5";
  Tally tally;
  for (int trial = 0; trial < trials; ++trial) {
    const fs::path file = c.corrupt(trial, rng);
    tally.refused += check(c, file, {"summarize", file.string()}, {}, tally) != 0;
    if (trial % 2 == 0)
      check(c, file, {"merge", file.string(), "-o", merged.string()}, merged, tally);
    else
      check(c, file, {"merge", (c.dir / "run.h5").string(), file.string(), "-o", merged.string()}, merged, tally);
    if (trial % every_slow_command == 0) {
      check(c, file, {"variance", "--from", file.string(), "--estimators", "reinforce", "--draws", "5", "--out",
                      variance.string()},
            variance, tally);
      check(c, file, {"rerun", file.string()}, {}, tally);
    }
    fs::remove(file);
  }
  // The copies must include damage gradest refuses (not only flips in raw data it reads back), and
  // damage on which libhdf5 itself crashes or hangs: the case this test is for.
  INFO(tally.refused << " of " << trials << " copies refused by summarize; " << tally.crashes
                     << " refusals after libhdf5 crashed or hung");
  CHECK(tally.refused > trials / 4);
  CHECK(tally.crashes >= 1);
}

}  // namespace

TEST_CASE("corrupted run files: no crash, one line naming the file, nothing written", "[cli][corrupt]") {
  corruption_trials(200, 10);
}

TEST_CASE("corrupted run files, many trials, every command", "[cli][corrupt][slow]") {
  corruption_trials(1000, 1);
}
