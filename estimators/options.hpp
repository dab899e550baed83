#pragma once
// Estimator options declared by their estimator.
//
// Each estimator declares the options it reads, once, as OptionSpecs in its own header (name as
// the command line spells it, type, default, allowed range, help) and names them in its registry
// line. The training keys (run/train_config.cpp), sweep configs, `gradest toy-bernoulli`, the
// HDF5 configuration record, validation and `gradest list --options` all read those declarations;
// the estimator reads its values back through the same specs (options_.real(kTemperature)).
//
// `samples` (S, or K for importance-weighted bounds) belongs to every estimator and to the harness
// around it (EstimatorInfo::min_samples, probe baskets, check-unbiased), so it is declared once here
// (kSamplesOption) and kept as a typed member of EstimatorOptions.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace gradest {

enum class OptionType { integer, real, boolean, integer_list };
std::string_view to_string(OptionType type);  // "integer", "real", "boolean", "integer list"

struct OptionSpec {
  std::string_view name = {};     // as the command line spells it, e.g. "baseline-decay"
  OptionType type = OptionType::real;
  std::string_view default_text = {};  // as the command line would give it, e.g. "0.9", "100", "true"
  // Allowed numbers (of each item of an integer list); bounds are inclusive unless *_open.
  double min = -std::numeric_limits<double>::infinity();
  bool min_open = false;
  double max = std::numeric_limits<double>::infinity();
  bool max_open = false;
  std::string_view empty_list = {};  // integer list: the word for an empty list ("linear"); "" = never empty
  std::string_view help = {};        // one line
};

// Every estimator's S (or K): an integer >= 1 (an estimator's EstimatorInfo::min_samples may ask more).
inline constexpr OptionSpec kSamplesOption{.name = "samples",
                                           .type = OptionType::integer,
                                           .default_text = "1",
                                           .min = 1,
                                           .max = std::numeric_limits<int>::max(),
                                           .help = "samples S per data point (K for importance-weighted estimators)"};
// The decay of a running average, shared by the estimators that keep one (reinforce-ma: its
// baseline; reinforce-nvil: the running mean and sd of its learning signal).
inline constexpr OptionSpec kBaselineDecayOption{.name = "baseline-decay",
                                                 .type = OptionType::real,
                                                 .default_text = "0.9",
                                                 .min = 0,
                                                 .max = 1,
                                                 .max_open = true,
                                                 .help = "decay of the running averages (reinforce-ma: the baseline; "
                                                         "reinforce-nvil: the signal's mean and sd)"};

// The scale of a control variate and its online adaptation, shared by the estimators that scale
// one (rebar: eta; double-cv: alpha). Adapted, the scale follows Adam steps of size cv-lr down the
// gradient of the estimate's second moment (whose expectation is the variance plus a constant).
inline constexpr OptionSpec kCvScaleOption{.name = "cv-scale",
                                           .type = OptionType::real,
                                           .default_text = "1",
                                           .min = -1e6,
                                           .max = 1e6,
                                           .help = "scale of the control variate (the start when adapted)"};
inline constexpr OptionSpec kAdaptScaleOption{.name = "adapt-scale",
                                              .type = OptionType::boolean,
                                              .default_text = "true",
                                              .help = "adapt the control variate's scale online to minimise the variance"};
inline constexpr OptionSpec kCvLrOption{.name = "cv-lr",
                                        .type = OptionType::real,
                                        .default_text = "0.001",
                                        .min = 0,
                                        .min_open = true,
                                        .help = "Adam step size of an adapted control variate's parameters"};
// integer, real, boolean, integer list (OptionType order).
using OptionValue = std::variant<std::int64_t, double, bool, std::vector<int>>;

// One line describing the allowed values: "an integer >= 1", "> 0", "in [0, 1)", "true, false",
// "linear, or a comma list of integers in [1, 1000000]".
std::string allowed_text(const OptionSpec& spec);
// Parses a value as the command line gives it; throws ConfigError
// "option '--NAME': invalid value 'TEXT'; allowed: ..." for text that is not of the declared type.
OptionValue parse_option_value(const OptionSpec& spec, std::string_view text);
// The canonical text form (what config texts, run ids and `gradest list --options` show).
std::string option_text(const OptionSpec& spec, const OptionValue& value);
// The declared default, parsed.
OptionValue default_value(const OptionSpec& spec);
// False with "NAME must be ALLOWED, got VALUE" when the value lies outside the declared range.
bool option_valid(const OptionSpec& spec, const OptionValue& value, std::string* error);
// Whether two declarations of one name agree (type, default, range, empty word; help may differ).
bool same_declaration(const OptionSpec& a, const OptionSpec& b);

// The values of an estimator's options: samples, and every declared option set so far (the
// others read as their declared default). Estimators read only the options they declare.
class EstimatorOptions {
 public:
  int samples = 1;  // kSamplesOption

  OptionValue value(const OptionSpec& spec) const;  // as set, else the declared default
  int integer(const OptionSpec& spec) const;
  double real(const OptionSpec& spec) const;
  bool boolean(const OptionSpec& spec) const;
  std::vector<int> integers(const OptionSpec& spec) const;
  std::string text(const OptionSpec& spec) const { return option_text(spec, value(spec)); }

  // Sets a declared option to a value of its declared type (std::logic_error otherwise); the
  // range is checked by valid().
  void set(const OptionSpec& spec, OptionValue value);
  // Parses `text` as parse_option_value does (ConfigError for text of the wrong type).
  void set_text(const OptionSpec& spec, std::string_view text) { set(spec, parse_option_value(spec, text)); }

  // False with a one-line reason naming the option and its allowed values.
  bool valid(std::string* error) const;

 private:
  std::vector<std::pair<const OptionSpec*, OptionValue>> values_;  // in the order first set
};

}  // namespace gradest
