#include "core/files.hpp"

#include <fmt/format.h>

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

}  // namespace gradest::files
