// core/files and core/limits: partial outputs removed when a signal ends the process or when a
// later command finds them orphaned; the output-folder lock; memory limits read from the process.
#include <catch2/catch.hpp>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/errors.hpp"
#include "core/files.hpp"
#include "core/limits.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("gradest-files-" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("a registered partial output is removed when SIGTERM, SIGINT or SIGHUP ends the process", "[files]") {
  TempDir dir;
  for (int signal : {SIGTERM, SIGINT, SIGHUP}) {
    INFO("signal " << signal);
    const fs::path partial = dir.path / ("out.h5.partial-" + std::to_string(signal));
    const fs::path kept = dir.path / "unregistered.h5.partial-1";
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      std::signal(signal, SIG_DFL);
      std::ofstream(partial) << "half a file";
      std::ofstream(kept) << "not ours";
      gradest::files::register_partial(partial.string());
      std::raise(signal);
      std::_Exit(0);  // not reached
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == signal);
    CHECK_FALSE(fs::exists(partial));
    CHECK(fs::exists(kept));  // only what was registered goes
  }
}

TEST_CASE("partial outputs of processes that no longer run are removed; others are kept", "[files]") {
  TempDir dir;
  const fs::path out = dir.path / "m.h5";
  // A pid that ran and ended: a child that exited at once.
  const pid_t gone = ::fork();
  REQUIRE(gone >= 0);
  if (gone == 0) std::_Exit(0);
  REQUIRE(::waitpid(gone, nullptr, 0) == gone);
  const fs::path orphan = dir.path / ("m.h5.partial-" + std::to_string(gone));
  const fs::path live = dir.path / ("m.h5.partial-" + std::to_string(::getppid()));
  const fs::path other = dir.path / ("other.h5.partial-" + std::to_string(gone));
  const fs::path odd = dir.path / "m.h5.partial-12ab";
  for (const auto& p : {orphan, live, other, odd}) std::ofstream(p) << "x";
  gradest::files::remove_stale_partials(out.string());
  CHECK_FALSE(fs::exists(orphan));
  CHECK(fs::exists(live));   // its process runs
  CHECK(fs::exists(other));  // another output's
  CHECK(fs::exists(odd));    // not a partial name
}

TEST_CASE("the folder lock admits one holder and names it to the next", "[files]") {
  TempDir dir;
  const std::string path = (dir.path / ".sweep.lock").string();
  {
    const gradest::files::ExclusiveLock held(path, "output folder 'x'");
    // flock locks belong to open file descriptions: a second open in this process conflicts too,
    // as a second process would.
    try {
      const gradest::files::ExclusiveLock second(path, "output folder 'x'");
      FAIL("the second lock was granted");
    } catch (const gradest::InputError& e) {
      const std::string message = e.what();
      CHECK(message.find("output folder 'x' is in use by another gradest (pid " + std::to_string(::getpid())) !=
            std::string::npos);
    }
  }
  CHECK_NOTHROW(gradest::files::ExclusiveLock(path, "output folder 'x'"));  // released with its holder
}

TEST_CASE("the memory limit follows ulimit -v, and require_memory names option, need and limit", "[files][limits]") {
  if (gradest::testing::kAddressSanitizer) {
    WARN("skipped under AddressSanitizer: it cannot run under an address-space limit");
    return;
  }
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    rlimit r{};
    r.rlim_cur = r.rlim_max = rlim_t(3) << 30;  // 3.22 GB
    if (::setrlimit(RLIMIT_AS, &r) != 0) std::_Exit(10);
    const auto limit = gradest::limits::memory_limit();
    if (limit.source != "ulimit -v" || limit.bytes != double(rlim_t(3) << 30)) std::_Exit(11);
    try {
      gradest::limits::require_memory("--latents 9", "the model", 4e9, "--latents");
      std::_Exit(12);
    } catch (const gradest::ConfigError& e) {
      const std::string expected = "--latents 9: the model would need at least 4 GB; this process may use 3.22 GB (ulimit -v); "
                                   "reduce --latents";
      if (std::string(e.what()) != expected) {
        std::fprintf(stderr, "got: %s\n", e.what());
        std::_Exit(13);
      }
    }
    gradest::limits::require_memory("--latents 9", "the model", 3e9, "--latents");  // fits: no throw
    std::_Exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
