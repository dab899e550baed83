#pragma once
// The errors every layer may raise for something the user can fix. They carry one line that names
// the problem and the allowed values; the command line (cli/main.cpp) prints it as
// "gradest SUBCOMMAND: <message>" and exits with status 2, having written nothing.
//
// Declared without Boost: the engine (models .. sweep) never sees the command line's parser.
#include <stdexcept>

namespace gradest {

// Base of every user-fixable error.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A configuration value, key or combination out of its allowed range (training keys, estimator
// options, probe lists, sweep configs, numeric lists and ranges).
class ConfigError : public Error {
 public:
  using Error::Error;
};

// A file that cannot be read or written as asked: missing, not HDF5, another schema, truncated,
// an output that exists or whose directory cannot be written.
class InputError : public Error {
 public:
  using Error::Error;
};

}  // namespace gradest
