#include "store/h5sandbox.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include "core/errors.hpp"
#include "store/h5read.hpp"

// Set by AddressSanitizer and libFuzzer builds (weak: absent in the Release binary).
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

namespace gradest::h5 {

namespace {

int g_progress_fd = -1;  // the pipe to the parent, in a sandboxed child only

void send(const std::string& line) {
  if (g_progress_fd < 0) return;
  const std::string text = line + "\n";
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(g_progress_fd, text.data() + done, text.size() - done);
    if (n <= 0) ::_exit(4);
    done += std::size_t(n);
  }
}

// The child's death is the parent's to report: no handler of a sanitizer or fuzzer inherited from
// the parent may report it as the parent's crash (libFuzzer would save the input as a crash).
void default_crash_handling() {
  if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(nullptr);
  for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL}) ::signal(sig, SIG_DFL);
}

[[noreturn]] void run_child(int fd, const std::function<void()>& read) {
  g_progress_fd = fd;
  default_crash_handling();
  const int null = ::open("/dev/null", O_WRONLY);
  if (null >= 0) ::dup2(null, STDOUT_FILENO), ::dup2(null, STDERR_FILENO);
  try {
    read();
    send("ok");
    ::_exit(0);
  } catch (const Error& e) {
    send(std::string("error ") + e.what());
  } catch (const std::exception& e) {  // an HDF5 failure no reader named, or out of memory
    send("failed");
  } catch (const H5::Exception&) {
    send("failed");
  }
  ::_exit(3);
}

struct ChildReport {
  std::string last_object = "its superblock";
  std::string outcome;  // "ok", "error <message>", "failed", or empty (crashed)
  bool stalled = false;
};

// Reads the child's lines until it closes the pipe or stalls.
ChildReport collect(int fd, int stall_ms) {
  ChildReport report;
  std::string pending;
  char buffer[4096];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, stall_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      report.stalled = true;
      return report;
    }
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return report;
    pending.append(buffer, std::size_t(n));
    for (auto end = pending.find('\n'); end != std::string::npos; end = pending.find('\n')) {
      const std::string line = pending.substr(0, end);
      pending.erase(0, end + 1);
      if (line.rfind("at ", 0) == 0)
        report.last_object = line.substr(3);
      else
        report.outcome = line;
    }
  }
}

}  // namespace

void reaching(const std::string& object) { send("at " + object); }

void sandboxed(const std::string& path, const std::function<void()>& read) {
  int fds[2];
  if (::pipe(fds) != 0) throw InputError(fmt::format("cannot check '{}': no pipe ({})", path, std::strerror(errno)));
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]), ::close(fds[1]);
    throw InputError(fmt::format("cannot check '{}': cannot fork ({})", path, std::strerror(errno)));
  }
  if (pid == 0) {
    ::close(fds[0]);
    run_child(fds[1], read);
  }
  ::close(fds[1]);
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  const int stall_seconds = kSandboxStallSeconds + int(ec ? 0 : std::min<std::uintmax_t>(size / kSandboxBytesPerSecond, 3600));
  const ChildReport report = collect(fds[0], stall_seconds * 1000);
  ::close(fds[0]);
  if (report.stalled) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (report.stalled)
    throw InputError(fmt::format("'{}' is corrupted: the HDF5 library did not finish reading {} within {} s", path,
                                 report.last_object, stall_seconds));
  if (report.outcome == "ok" && WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  if (report.outcome.rfind("error ", 0) == 0) throw InputError(report.outcome.substr(6));
  if (report.outcome == "failed")
    throw InputError(fmt::format("'{}' is corrupted: HDF5 cannot read {}; gradest cannot read it", path,
                                 report.last_object));
  const std::string how = WIFSIGNALED(status) ? fmt::format("crashed ({})", ::strsignal(WTERMSIG(status)))
                                              : fmt::format("failed (exit status {})", WEXITSTATUS(status));
  throw InputError(fmt::format("'{}' is corrupted: the HDF5 library {} reading {}; gradest cannot read it", path, how,
                               report.last_object));
}

namespace {

void read_attributes(const H5::H5Object& object) {
  for (const auto& name : attribute_names(object)) {
    reaching(object_path(object, "@" + name));
    read_raw_attribute(object, name);
    const H5::Attribute attr = object.openAttribute(name);
    const H5T_class_t type = attr.getTypeClass();
    if ((type == H5T_INTEGER || type == H5T_FLOAT) && checked_points(attr, 8) == 1) {
      read_int_attribute(object, name);
      read_real_attribute(object, name);
    }
  }
}

void read_dataset(const H5::Group& group, const std::string& name) {
  const H5::DataSet dataset = open_dataset(group, name);
  read_attributes(dataset);
  const H5T_class_t type = dataset.getTypeClass();
  if (type == H5T_VLEN || (type == H5T_STRING && H5::StrType(dataset).isVariableStr())) return;  // never read
  read_raw(dataset);
  if (type == H5T_INTEGER || type == H5T_FLOAT) read_vector(group, name);
  if (type == H5T_INTEGER) read_int_vector(group, name);
}

void read_group(const H5::Group& group, int depth) {
  if (depth > kMaxGroupDepth)
    throw InputError(failure(group, "read", "group", "", fmt::format("it is nested more than {} groups deep; corrupted?",
                                                                     kMaxGroupDepth)));
  read_attributes(group);
  for (const auto& [name, type] : members(group)) {
    reaching(object_path(group, name));
    if (type == H5O_TYPE_GROUP) read_group(open_group(group, name), depth + 1);
    if (type == H5O_TYPE_DATASET) read_dataset(group, name);
  }
}

// What merge and rerun --out do with runs: copy them (into a file in memory).
void copy_runs(const H5::H5File& file) {
  const H5::Group root = file.openGroup("/");
  if (!exists(root, "runs")) return;
  const H5::Group runs = open_group(root, "runs");
  H5::FileAccPropList in_memory;
  in_memory.setCore(1 << 20, false);
  H5::H5File copy("gradest-sandbox-copy.h5", H5F_ACC_TRUNC, H5::FileCreatPropList::DEFAULT, in_memory);
  for (const auto& member : members(runs)) {
    const std::string& id = member.first;
    reaching(object_path(runs, id) + " (copying it)");
    if (H5Ocopy(runs.getId(), id.c_str(), copy.getId(), id.c_str(), H5P_DEFAULT, H5P_DEFAULT) < 0)
      throw InputError(failure(runs, "copy", "run", id, "corrupted or not written by gradest"));
  }
}

}  // namespace

void read_everything(const H5::H5File& file) {
  read_group(file.openGroup("/"), 0);
  copy_runs(file);
}

}  // namespace gradest::h5
