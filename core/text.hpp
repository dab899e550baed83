#pragma once
// Text helpers shared by the configuration readers (training keys, sweep configs, probe lists).
// Errors are ConfigError naming the option, so they need no command line.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gradest::text {

// "1,2,3" -> {1,2,3};  "a:b:n" -> n evenly spaced values from a to b inclusive;  "1..5" -> 1,2,3,4,5.
// At most 100000 values; a bad item throws ConfigError naming `option`.
std::vector<double> parse_real_list(std::string_view text, std::string_view option);
std::vector<std::int64_t> parse_int_list(std::string_view text, std::string_view option);
// Splits at `separator`, trimming each part (an empty text gives one empty part).
std::vector<std::string> split(std::string_view text, char separator);
std::string trim(std::string_view text);

}  // namespace gradest::text
