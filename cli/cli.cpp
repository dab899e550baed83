#include "cli/cli.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iostream>
#include <map>

namespace gradest::cli {

namespace {
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// Reads error_with_option_name's protected state through member pointers named in a derived class
// (never instantiated).
struct ProgramOptionsErrorAccess : po::error_with_option_name {
  using Substitutions = std::map<std::string, std::string>;
  using Defaults = std::map<std::string, std::pair<std::string, std::string>>;
  static const Substitutions& substitutions(const po::error_with_option_name& e) {
    return e.*(&ProgramOptionsErrorAccess::m_substitutions);
  }
  static const Defaults& defaults(const po::error_with_option_name& e) {
    return e.*(&ProgramOptionsErrorAccess::m_substitution_defaults);
  }
  static std::string prefix(const po::error_with_option_name& e) {
    return (e.*(&ProgramOptionsErrorAccess::get_canonical_option_prefix))();
  }
};

}  // namespace

std::string describe(const po::error& error) {
  const auto* named = dynamic_cast<const po::error_with_option_name*>(&error);
  if (!named) return error.what();
  using Access = ProgramOptionsErrorAccess;
  auto values = Access::substitutions(*named);
  values["canonical_option"] = named->get_option_name();
  values["prefix"] = Access::prefix(*named);
  // Defaults (Boost's own text, applied first as Boost does) for missing values.
  std::string text = named->m_error_template;
  for (const auto& [key, from_to] : Access::defaults(*named)) {
    const auto it = values.find(key);
    if (it != values.end() && !it->second.empty()) continue;
    const auto& [from, to] = from_to;
    if (from.empty()) continue;
    std::string replaced;
    std::size_t at = 0;
    for (std::size_t pos; (pos = text.find(from, at)) != std::string::npos; at = pos + from.size())
      replaced += text.substr(at, pos - at) + to;
    text = replaced + text.substr(at);
  }
  // %name% -> value, once, left to right; inserted values are not scanned again.
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t close = text[i] == '%' ? text.find('%', i + 1) : std::string::npos;
    if (close != std::string::npos) {
      const auto it = values.find(text.substr(i + 1, close - i - 1));
      if (it != values.end()) {
        out += it->second;
        i = close + 1;
        continue;
      }
    }
    out += text[i++];
  }
  return out;
}

namespace {

// "unknown option '--stpes'; did you mean '--steps'? (all options: --help)"
std::string unknown_option_message(const std::string& given, const po::options_description& options) {
  std::string name = given;
  while (!name.empty() && name[0] == '-') name.erase(0, 1);
  std::string best;
  std::size_t best_distance = std::string::npos;
  for (const auto& option : options.options()) {
    const std::string& candidate = option->long_name();
    if (candidate.empty()) continue;
    const std::size_t d = edit_distance(name, candidate);
    if (d < best_distance) best_distance = d, best = candidate;
  }
  if (!best.empty() && best_distance <= std::max<std::size_t>(2, name.size() / 3))
    return fmt::format("unknown option '{}'; did you mean '--{}'? (--help lists the allowed options)", given, best);
  return fmt::format("unknown option '{}'; --help lists the allowed options", given);
}
}  // namespace

bool parse(const std::vector<std::string>& args, const po::options_description& options,
           const po::positional_options_description* positional, po::variables_map& vm) {
  po::options_description all;
  all.add(options);
  all.add_options()("help,h", "show this help");
  try {
    auto parser = po::command_line_parser(args).options(all).style(po::command_line_style::default_style &
                                                                    ~po::command_line_style::allow_guessing);
    if (positional) parser.positional(*positional);
    const po::parsed_options parsed = parser.run();
    // Without a positional description Boost keeps stray words as nameless options and ignores
    // them ('x2 --phi 1 2' ran phi = 1 only); they are refused here.
    if (!positional)
      for (const auto& option : parsed.options)
        if (option.position_key >= 0 || option.string_key.empty()) {
          const std::string word = option.original_tokens.empty() ? std::string() : option.original_tokens.front();
          throw UsageError(fmt::format("unexpected argument '{}': this subcommand takes options only "
                                       "(a list is one value: --name 1,2,3)",
                                       word));
        }
    po::store(parsed, vm);
    if (vm.count("help")) return false;
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    throw UsageError(unknown_option_message(e.get_option_name(), all));
  } catch (const po::error& e) {
    throw UsageError(describe(e));
  }
  return true;
}

void print_help(std::string_view subcommand, std::string_view synopsis, const po::options_description& options) {
  std::cout << "usage: gradest " << subcommand << " " << synopsis << "\n\n" << options << "  -h [ --help ]  show this help\n";
}

std::string quote_command_line(int argc, char** argv) {
  std::string out;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    const bool plain = !arg.empty() && arg.find_first_not_of(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == std::string::npos;
    if (!out.empty()) out += ' ';
    if (plain) {
      out += arg;
    } else {
      out += '\'';
      for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
      out += '\'';
    }
  }
  return out;
}

}  // namespace gradest::cli
