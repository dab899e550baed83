#include "core/text.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <set>
#include <stdexcept>

#include "core/errors.hpp"

namespace gradest::text {

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto pos = text.find(separator, start);
    out.push_back(trim(text.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start)));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

namespace {
double to_real(std::string_view s, std::string_view option) {
  const std::string str(s);
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(str, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (str.empty() || used != str.size() || !std::isfinite(value))
    throw ConfigError(fmt::format(
        "option '--{}': '{}' is not a number; give a number, a list 'a,b,c' or a range 'start:stop:count'", option, s));
  return value;
}
std::int64_t to_int(std::string_view s, std::string_view option) {
  std::int64_t value = 0;
  const auto* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, value);
  if (s.empty() || ec != std::errc() || ptr != end)
    throw ConfigError(fmt::format(
        "option '--{}': '{}' is not an integer; give an integer, a list 'a,b,c' or a range 'a..b'", option, s));
  return value;
}
}  // namespace

namespace {
// Lists and ranges longer than this are refused (a typo such as 1..2000000000 would exhaust memory).
constexpr std::int64_t kMaxListValues = 100000;
}  // namespace

std::vector<double> parse_real_list(std::string_view text, std::string_view option) {
  std::vector<double> out;
  for (const auto& item : split(text, ',')) {
    const auto parts = split(item, ':');
    if (parts.size() == 1) {
      out.push_back(to_real(parts[0], option));
    } else if (parts.size() == 3) {
      const double a = to_real(parts[0], option), b = to_real(parts[1], option);
      const std::int64_t n = to_int(parts[2], option);
      if (n < 1 || n > kMaxListValues)
        throw ConfigError(
            fmt::format("option '--{}': range '{}' needs a count from 1 to {}", option, item, kMaxListValues));
      for (std::int64_t i = 0; i < n; ++i) out.push_back(n == 1 ? a : a + (b - a) * double(i) / double(n - 1));
    } else {
      throw ConfigError(fmt::format("option '--{}': '{}' is not a number or a range 'start:stop:count'", option, item));
    }
  }
  return out;
}

std::vector<std::int64_t> parse_int_list(std::string_view text, std::string_view option) {
  std::vector<std::int64_t> out;
  for (const auto& item : split(text, ',')) {
    const auto dots = item.find("..");
    if (dots == std::string::npos) {
      out.push_back(to_int(item, option));
    } else {
      const std::int64_t a = to_int(trim(item.substr(0, dots)), option),
                         b = to_int(trim(item.substr(dots + 2)), option);
      if (b < a) throw ConfigError(fmt::format("option '--{}': range '{}' is empty", option, item));
      if (b - a >= kMaxListValues)
        throw ConfigError(
            fmt::format("option '--{}': range '{}' has more than {} values", option, item, kMaxListValues));
      for (std::int64_t i = a; i <= b; ++i) out.push_back(i);
    }
  }
  return out;
}

namespace {
template <class T>
void require_distinct_impl(const std::vector<T>& values, std::string_view option, std::string_view noun) {
  std::set<T> seen;
  for (const auto& v : values)
    if (!seen.insert(v).second)
      throw ConfigError(fmt::format("option '--{}': {} '{}' is listed twice; list each {} once", option, noun, v, noun));
}
}  // namespace

void require_distinct(const std::vector<std::string>& values, std::string_view option, std::string_view noun) {
  require_distinct_impl(values, option, noun);
}
void require_distinct(const std::vector<double>& values, std::string_view option, std::string_view noun) {
  require_distinct_impl(values, option, noun);
}
void require_distinct(const std::vector<std::int64_t>& values, std::string_view option, std::string_view noun) {
  require_distinct_impl(values, option, noun);
}

}  // namespace gradest::text
