#pragma once
// The one place that admits input files. Every file a command reads (gradest files, data, sweep
// configs, --init-from runs) passes require_input first, so that
// - only existing regular files are opened (a FIFO would block forever, a device such as /dev/zero
//   would be read until memory runs out, a directory is not a file);
// - sizes are bounded before anything is read;
// - the process knows its inputs, so an output can never replace one of them (store/h5io.hpp's
//   OutputFile asks is_input).
// Errors are InputError naming the file and what it was for.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace gradest::files {

inline constexpr std::uintmax_t kNoSizeLimit = std::numeric_limits<std::uintmax_t>::max();

// Refuses a path that does not name an existing regular file (symbolic links followed) or that
// is larger than max_bytes; records it as an input of this process. `what` names its role, e.g.
// "sweep config", "data file".
void require_input(const std::string& path, std::string_view what, std::uintmax_t max_bytes = kNoSizeLimit);
// True when `path` names the same file as an input recorded by require_input.
bool is_input(const std::string& path);

// ---- outputs ---------------------------------------------------------------------------------------
// An exclusive lock (flock) on `path`, created if missing, held until destruction or the end of the
// process (a killed holder releases it; the file itself stays, holding the last holder's pid, host
// and start time). Throws InputError naming `what` and the holder if another process holds it.
class ExclusiveLock {
 public:
  ExclusiveLock(const std::string& path, std::string_view what);
  ~ExclusiveLock();
  ExclusiveLock(const ExclusiveLock&) = delete;
  ExclusiveLock& operator=(const ExclusiveLock&) = delete;

 private:
  int fd_ = -1;
};

// Partial outputs ("<output>.partial-<pid>") are registered while written: SIGINT, SIGTERM and
// SIGHUP remove them before the process ends (the handler is installed only where the signal has
// its default action; commands with their own handler clean up themselves).
void register_partial(const std::string& path);
void unregister_partial(const std::string& path);
// Removes "<output>.partial-<pid>" files left beside `output` by processes that no longer run
// (kill -9, a crash, a power cut). Files of running processes are left alone.
void remove_stale_partials(const std::string& output);

}  // namespace gradest::files
