#pragma once
// Command-line plumbing shared by every subcommand: the subcommand table, one-line usage errors
// and option parsing with Boost.Program_options (the only layer that knows it).
//
// Strings stop here: subcommands parse names into enums and typed configs before anything runs.
#include <boost/program_options.hpp>

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/errors.hpp"
#include "core/text.hpp"

namespace gradest::cli {

// The configuration readers' list and text helpers (core/text.hpp), for the subcommands.
using text::parse_int_list;
using text::parse_real_list;
using text::require_distinct;
using text::split;
using text::trim;

namespace po = boost::program_options;

// A bad command line or option value (the engine's own errors are ConfigError and InputError,
// core/errors.hpp). main() prints "gradest SUBCOMMAND: <message>" on one line and exits with
// status 2; nothing has been written.
class UsageError : public Error {
 public:
  using Error::Error;
};

struct Context {
  std::string program;       // argv[0]
  std::string command_line;  // the whole command line, shell-quoted, recorded in outputs
};

struct Subcommand {
  std::string_view name;
  std::string_view summary;
  // args excludes the program and subcommand names. Returns the exit status.
  int (*run)(const std::vector<std::string>& args, const Context& context);
};

// Every subcommand, in the order `gradest --help` lists them (cli/commands.cpp).
std::span<const Subcommand> subcommands();

// Parses args against `options` (and positional names, if any) into vm, with --help handled by
// the caller. Unknown options, missing values and bad types throw UsageError naming the option.
// Returns false if --help was given (the caller prints usage and exits 0).
bool parse(const std::vector<std::string>& args, const po::options_description& options,
           const po::positional_options_description* positional, po::variables_map& vm);
void print_help(std::string_view subcommand, std::string_view synopsis, const po::options_description& options);
// The message of a Boost.Program_options error, safe for any user text. Boost's own what()
// substitutes %placeholders% until none is left, so a value that contains one (`--repeats %value%`,
// a config line holding `%invalid_line%`) never returns; this fills the same template in one
// left-to-right pass that never rescans inserted text. (Found by fuzzing the config parser.)
std::string describe(const po::error& error);

// Shell-quoted command line from argv.
std::string quote_command_line(int argc, char** argv);

}  // namespace gradest::cli
