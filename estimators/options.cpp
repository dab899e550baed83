#include "estimators/options.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "core/errors.hpp"
#include "core/text.hpp"

namespace gradest {
namespace {

// The same words and messages as the training keys' own parsers (run/train_config.cpp).
[[noreturn]] void bad_value(std::string_view name, std::string_view text, std::string_view allowed) {
  throw ConfigError(fmt::format("option '--{}': invalid value '{}'; allowed: {}", name, text, allowed));
}

std::int64_t parse_one_integer(std::string_view name, std::string_view text) {
  const auto list = text::parse_int_list(text, name);
  if (list.size() != 1) bad_value(name, text, "one integer");
  return list.front();
}

int parse_int32(std::string_view name, std::string_view text, std::string_view allowed) {
  const std::int64_t v = parse_one_integer(name, text);
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) bad_value(name, text, allowed);
  return int(v);
}

std::vector<int> parse_integer_list(const OptionSpec& spec, const std::string& text) {
  if (!spec.empty_list.empty() && (text == spec.empty_list || text == "none")) return {};
  std::vector<int> out;
  for (const auto& item : text::split(text, ',')) {
    try {
      out.push_back(parse_int32(spec.name, item, allowed_text(spec)));
    } catch (const ConfigError&) {
      bad_value(spec.name, text, allowed_text(spec));
    }
  }
  return out;
}

std::string range_text(const OptionSpec& spec) {
  const bool low = std::isfinite(spec.min), high = std::isfinite(spec.max);
  if (spec.type == OptionType::integer && spec.max >= std::numeric_limits<int>::max()) {
    if (!low) return "";
    return fmt::format("{} {}", spec.min_open ? ">" : ">=", spec.min);
  }
  if (low && high)
    return fmt::format("in {}{}, {}{}", spec.min_open ? '(' : '[', spec.min, spec.max, spec.max_open ? ')' : ']');
  if (low) return fmt::format("{} {}", spec.min_open ? ">" : ">=", spec.min);
  if (high) return fmt::format("{} {}", spec.max_open ? "<" : "<=", spec.max);
  return "";
}

bool in_range(const OptionSpec& spec, double x) {
  const bool above = spec.min_open ? x > spec.min : x >= spec.min;  // false for NaN
  const bool below = spec.max_open ? x < spec.max : x <= spec.max;
  return above && below;
}

std::size_t index_of(OptionType type) { return std::size_t(type); }

}  // namespace

std::string_view to_string(OptionType type) {
  switch (type) {
    case OptionType::integer: return "integer";
    case OptionType::real: return "real";
    case OptionType::boolean: return "boolean";
    case OptionType::integer_list: return "integer list";
  }
  return "?";
}

std::string allowed_text(const OptionSpec& spec) {
  const std::string range = range_text(spec);
  switch (spec.type) {
    case OptionType::integer: return range.empty() ? "an integer" : "an integer " + range;
    case OptionType::real: return range.empty() ? "a number" : range;
    case OptionType::boolean: return "true, false";
    case OptionType::integer_list: {
      const std::string list = range.empty() ? "a comma list of integers" : "a comma list of integers " + range;
      return spec.empty_list.empty() ? list : fmt::format("{}, or {}", spec.empty_list, list);
    }
  }
  return "?";
}

OptionValue parse_option_value(const OptionSpec& spec, std::string_view text_view) {
  const std::string text(text_view);
  switch (spec.type) {
    case OptionType::integer: return std::int64_t(parse_int32(spec.name, text, "a 32-bit integer"));
    case OptionType::real: {
      const auto list = text::parse_real_list(text, spec.name);
      if (list.size() != 1 || text.find(':') != std::string::npos) bad_value(spec.name, text, "one number");
      return list.front();
    }
    case OptionType::boolean:
      if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
      if (text == "false" || text == "0" || text == "no" || text == "off") return false;
      bad_value(spec.name, text, "true, false");
    case OptionType::integer_list: return parse_integer_list(spec, text);
  }
  throw std::logic_error("parse_option_value: unknown option type");
}

std::string option_text(const OptionSpec& spec, const OptionValue& value) {
  if (value.index() != index_of(spec.type))
    throw std::logic_error(fmt::format("estimator option '{}' holds a value of another type", spec.name));
  switch (spec.type) {
    case OptionType::integer: return std::to_string(std::get<std::int64_t>(value));
    case OptionType::real: return fmt::format("{}", std::get<double>(value));
    case OptionType::boolean: return std::get<bool>(value) ? "true" : "false";
    case OptionType::integer_list: {
      const auto& list = std::get<std::vector<int>>(value);
      if (list.empty()) return std::string(spec.empty_list);
      return fmt::format("{}", fmt::join(list, ","));
    }
  }
  return "?";
}

OptionValue default_value(const OptionSpec& spec) { return parse_option_value(spec, spec.default_text); }

bool option_valid(const OptionSpec& spec, const OptionValue& value, std::string* error) {
  bool ok = true;
  switch (spec.type) {
    case OptionType::integer: ok = in_range(spec, double(std::get<std::int64_t>(value))); break;
    case OptionType::real: ok = in_range(spec, std::get<double>(value)); break;
    case OptionType::boolean: break;
    case OptionType::integer_list: {
      const auto& list = std::get<std::vector<int>>(value);
      ok = !list.empty() || !spec.empty_list.empty();
      for (int item : list) ok = ok && in_range(spec, double(item));
      break;
    }
  }
  if (!ok && error) *error = fmt::format("{} must be {}, got {}", spec.name, allowed_text(spec), option_text(spec, value));
  return ok;
}

bool same_declaration(const OptionSpec& a, const OptionSpec& b) {
  return a.name == b.name && a.type == b.type && a.default_text == b.default_text && a.min == b.min &&
         a.min_open == b.min_open && a.max == b.max && a.max_open == b.max_open && a.empty_list == b.empty_list;
}

// ---- EstimatorOptions ------------------------------------------------------------------------------

OptionValue EstimatorOptions::value(const OptionSpec& spec) const {
  if (spec.name == kSamplesOption.name) return std::int64_t{samples};
  for (const auto& [declared, value] : values_)
    if (declared->name == spec.name) return value;
  return default_value(spec);
}

int EstimatorOptions::integer(const OptionSpec& spec) const { return int(std::get<std::int64_t>(value(spec))); }
double EstimatorOptions::real(const OptionSpec& spec) const { return std::get<double>(value(spec)); }
bool EstimatorOptions::boolean(const OptionSpec& spec) const { return std::get<bool>(value(spec)); }
std::vector<int> EstimatorOptions::integers(const OptionSpec& spec) const {
  return std::get<std::vector<int>>(value(spec));
}

void EstimatorOptions::set(const OptionSpec& spec, OptionValue value) {
  if (value.index() != index_of(spec.type))
    throw std::logic_error(fmt::format("estimator option '{}' is {}; set with a value of another type", spec.name,
                                       to_string(spec.type)));
  if (spec.name == kSamplesOption.name) {
    const auto s = std::get<std::int64_t>(value);
    if (s < std::numeric_limits<int>::min() || s > std::numeric_limits<int>::max())
      throw std::logic_error("samples out of the 32-bit range");
    samples = int(s);
    return;
  }
  for (auto& [declared, held] : values_)
    if (declared->name == spec.name) {
      held = std::move(value);
      return;
    }
  values_.emplace_back(&spec, std::move(value));
}

bool EstimatorOptions::valid(std::string* error) const {
  if (!option_valid(kSamplesOption, std::int64_t{samples}, error)) return false;
  for (const auto& [declared, value] : values_)
    if (!option_valid(*declared, value, error)) return false;
  return true;
}

}  // namespace gradest
