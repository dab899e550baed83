#include "core/limits.hpp"

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <limits>
#include <fstream>
#include <string>

#include "core/errors.hpp"

namespace gradest::limits {

namespace {

void lower(MemoryLimit& limit, double bytes, const char* source) {
  if (bytes > 0 && bytes < limit.bytes) limit = {bytes, source};
}

double rlimit_bytes(int resource) {
  rlimit r{};
  if (::getrlimit(resource, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return 0;
  return static_cast<double>(r.rlim_cur);
}

// cgroup v2: the memory.max of this process's cgroup ("max" when unlimited).
double cgroup_bytes() {
  std::ifstream self("/proc/self/cgroup");
  std::string line, path;
  while (std::getline(self, line))
    if (line.rfind("0::", 0) == 0) path = line.substr(3);
  if (path.empty()) return 0;
  std::ifstream max_file("/sys/fs/cgroup" + path + "/memory.max");
  std::string value;
  if (!(max_file >> value) || value == "max") return 0;
  try {
    return std::stod(value);
  } catch (...) {
    return 0;
  }
}

}  // namespace

MemoryLimit memory_limit() {
  MemoryLimit limit{std::numeric_limits<double>::infinity(), "no limit"};
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) lower(limit, static_cast<double>(pages) * static_cast<double>(page), "physical memory");
  lower(limit, rlimit_bytes(RLIMIT_AS), "ulimit -v");
  lower(limit, rlimit_bytes(RLIMIT_DATA), "ulimit -d");
  lower(limit, cgroup_bytes(), "cgroup memory.max");
  return limit;
}

std::string human_bytes(double bytes) {
  if (!std::isfinite(bytes)) return "unbounded memory";
  static const char* units[] = {"bytes", "kB", "MB", "GB", "TB", "PB", "EB"};
  int unit = 0;
  while (bytes >= 1000 && unit < 6) {
    bytes /= 1000;
    ++unit;
  }
  return unit == 0 ? fmt::format("{:.0f} bytes", bytes) : fmt::format("{:.3g} {}", bytes, units[unit]);
}

std::string memory_shortfall(std::string_view subject, std::string_view what, double bytes, std::string_view options) {
  const MemoryLimit limit = memory_limit();
  if (!(bytes > limit.bytes) && std::isfinite(bytes)) return {};
  return fmt::format("{}: {} would need at least {}; this process may use {} ({}); reduce {}", subject, what,
                                human_bytes(bytes), human_bytes(limit.bytes), limit.source, options);
}

void require_memory(std::string_view subject, std::string_view what, double bytes, std::string_view options) {
  if (auto message = memory_shortfall(subject, what, bytes, options); !message.empty()) throw ConfigError(message);
}

std::string out_of_memory_message() {
  const MemoryLimit limit = memory_limit();
  return fmt::format("out of memory: the run needs more than this process may use ({}, {}); reduce its sizes "
                     "(latents, hidden layers, batch, samples, draws or repeats)",
                     human_bytes(limit.bytes), limit.source);
}

std::string work_shortfall(std::string_view subject, double evaluations, std::string_view options) {
  if (evaluations <= kMaxEvaluations) return {};
  return fmt::format("{}: {:.3g} objective evaluations, more than the {:.0e} one command may ask for (days of CPU "
                     "time); lower {}",
                     subject, evaluations, kMaxEvaluations, options);
}

void require_count(std::string_view option, double value, double max) {
  if (value >= 1 && value <= max) return;
  throw ConfigError(fmt::format("--{} must be between 1 and {:.0f}, got {:.0f}", option, max, value));
}

}  // namespace gradest::limits
