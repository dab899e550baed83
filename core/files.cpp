#include "core/files.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <vector>

#include "core/errors.hpp"

namespace gradest::files {

namespace fs = std::filesystem;

namespace {
std::mutex g_mutex;
std::vector<fs::path>& inputs() {
  static std::vector<fs::path> paths;
  return paths;
}
}  // namespace

void require_input(const std::string& path, std::string_view what, std::uintmax_t max_bytes) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (path.empty() || !fs::exists(status)) throw InputError(fmt::format("{} '{}' does not exist", what, path));
  if (fs::is_directory(status)) throw InputError(fmt::format("{} '{}' is a directory; give a file", what, path));
  if (!fs::is_regular_file(status))
    throw InputError(fmt::format("{} '{}' is not a regular file (a FIFO, device or socket); give a file", what, path));
  const std::uintmax_t size = fs::file_size(path, ec);
  if (!ec && size > max_bytes)
    throw InputError(fmt::format("{} '{}' has {} bytes; at most {} are read", what, path, size, max_bytes));
  const std::lock_guard lock(g_mutex);
  inputs().push_back(fs::path(path));
}

bool is_input(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return false;
  const std::lock_guard lock(g_mutex);
  for (const auto& input : inputs())
    if (fs::equivalent(input, path, ec)) return true;
  return false;
}

// ---- the lock -----------------------------------------------------------------------------------------

ExclusiveLock::ExclusiveLock(const std::string& path, std::string_view what) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw InputError(fmt::format("cannot create the lock file '{}': {}", path, std::strerror(errno)));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    char holder[256] = {};
    const ssize_t n = ::pread(fd_, holder, sizeof holder - 1, 0);
    std::string text = n > 0 ? std::string(holder, std::size_t(n)) : std::string("an unknown process");
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    ::close(fd_);
    fd_ = -1;
    throw InputError(fmt::format("{} is in use by another gradest ({}; lock file '{}'); wait for it to end or use "
                                 "another output",
                                 what, text, path));
  }
  char host[128] = {};
  ::gethostname(host, sizeof host - 1);
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  const std::string holder = fmt::format("pid {} on {}, since {}\n", ::getpid(), host, when);
  if (::ftruncate(fd_, 0) == 0) (void)::pwrite(fd_, holder.data(), holder.size(), 0);
}

ExclusiveLock::~ExclusiveLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

// ---- partial outputs -------------------------------------------------------------------------------

namespace {

// Fixed storage: the signal handler may only read it and call unlink.
constexpr std::size_t kMaxPartials = 16, kMaxPath = 4096;
std::array<std::array<char, kMaxPath>, kMaxPartials> g_partials{};
std::array<volatile std::sig_atomic_t, kMaxPartials> g_partial_used{};

extern "C" void remove_partials_and_die(int signal) {
  for (std::size_t i = 0; i < kMaxPartials; ++i)
    if (g_partial_used[i]) ::unlink(g_partials[i].data());
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

void install_partial_cleanup() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction current {};
    if (::sigaction(signal, nullptr, &current) != 0 || current.sa_handler != SIG_DFL) continue;
    struct sigaction action {};
    action.sa_handler = remove_partials_and_die;
    sigemptyset(&action.sa_mask);
    ::sigaction(signal, &action, nullptr);
  }
}

}  // namespace

void register_partial(const std::string& path) {
  const std::lock_guard lock(g_mutex);
  install_partial_cleanup();
  if (path.size() >= kMaxPath) return;
  for (std::size_t i = 0; i < kMaxPartials; ++i)
    if (!g_partial_used[i]) {
      std::memcpy(g_partials[i].data(), path.c_str(), path.size() + 1);
      g_partial_used[i] = 1;
      return;
    }
}

void unregister_partial(const std::string& path) {
  const std::lock_guard lock(g_mutex);
  for (std::size_t i = 0; i < kMaxPartials; ++i)
    if (g_partial_used[i] && path == g_partials[i].data()) g_partial_used[i] = 0;
}

void remove_stale_partials(const std::string& output) {
  const fs::path out(output);
  const fs::path dir = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  const std::string prefix = out.filename().string() + ".partial-";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || !entry.is_regular_file(ec)) continue;
    const std::string pid_text = name.substr(prefix.size());
    if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9) continue;
    const pid_t pid = pid_t(std::stol(pid_text));
    if (pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH) fs::remove(entry.path(), ec);
  }
}

}  // namespace gradest::files
