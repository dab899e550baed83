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
// Lists that are sets (estimators, grid values, x2's phi and N, summarize's keys) hold each value
// once: a repeated value throws ConfigError "option '--<option>': <noun> '<value>' is listed twice;
// list each <noun> once". (Hidden-layer sizes such as 200,200 are sequences, not sets.)
void require_distinct(const std::vector<std::string>& values, std::string_view option, std::string_view noun);
void require_distinct(const std::vector<double>& values, std::string_view option, std::string_view noun = "value");
void require_distinct(const std::vector<std::int64_t>& values, std::string_view option, std::string_view noun = "value");
// Splits at `separator`, trimming each part (an empty text gives one empty part).
std::vector<std::string> split(std::string_view text, char separator);
std::string trim(std::string_view text);

}  // namespace gradest::text
