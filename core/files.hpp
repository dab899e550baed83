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

}  // namespace gradest::files
