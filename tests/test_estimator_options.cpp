// Estimator options declared by their estimator (estimators/options.hpp): the declarations make
// the training keys (in the recorded order, so config texts and run ids do not change), drive
// validation and `gradest list --options`, and an estimator that is not registered brings its own
// option through all of it without any other file naming it.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "estimators/estimator.hpp"
#include "estimators/gumbel_softmax.hpp"
#include "run/train_config.hpp"
#include "tests/support.hpp"

using namespace gradest;

namespace {

// An estimator that no registry line names, with an option of its own.
class FakeEstimator final : public Estimator {
 public:
  static const EstimatorInfo kInfo;
  static constexpr OptionSpec kKnob{.name = "fake-knob",
                                    .type = OptionType::integer,
                                    .default_text = "3",
                                    .min = 1,
                                    .max = 5,
                                    .help = "how hard the fake estimator turns"};
  static constexpr OptionSpec kOptions[] = {kKnob};
  explicit FakeEstimator(EstimatorOptions options) : Estimator(std::move(options)) {}
  const EstimatorInfo& info() const override { return kInfo; }
  void estimate(const StochasticNode&, Objective&, Rng&, NodeGradient&) override {}
  int knob() const { return options_.integer(kKnob); }
};

// reinforce's description (whatever latent families it accepts) under another name.
const EstimatorInfo FakeEstimator::kInfo = [] {
  EstimatorInfo info = *find_estimator("reinforce")->info;
  info.name = "fake-estimator";
  return info;
}();

std::unique_ptr<Estimator> make_fake(const EstimatorOptions& options) {
  return std::make_unique<FakeEstimator>(options);
}

const EstimatorEntry kFakeEntry{&FakeEstimator::kInfo, &make_fake, FakeEstimator::kOptions};

std::vector<EstimatorEntry> registry_and(const EstimatorEntry& extra) {
  std::vector<EstimatorEntry> entries(estimator_registry().begin(), estimator_registry().end());
  entries.push_back(extra);
  return entries;
}

std::vector<std::string> key_names(std::span<const train::ConfigKey> keys) {
  std::vector<std::string> out;
  for (const auto& key : keys) out.emplace_back(key.name);
  return out;
}

const std::string kTiny =
    "--model bernoulli-vae --data synthetic --synthetic-train 200 --synthetic-test 50 --latents 4 --steps 5 "
    "--batch 10 --eval-every 5 --iwae-samples 2 --quiet";

}  // namespace

TEST_CASE("estimator options become training keys in the recorded order, with the recorded types and text",
          "[options]") {
  const auto names = key_names(train::config_keys());
  const auto first = std::find(names.begin(), names.end(), "estimator");
  REQUIRE(first != names.end());
  // The keys from the declarations, where the key table had them (config texts and run ids hash this order).
  const std::vector<std::string> expected = {"samples",         "temperature", "baseline-decay", "baseline-hidden",
                                             "baseline-lr",     "baseline-centre", "baseline-normalise", "data"};
  CHECK(std::vector<std::string>(first + 1, first + 1 + long(expected.size()) - 1) ==
        std::vector<std::string>(expected.begin(), expected.end() - 1));
  // Then the options declared later (in registry order), then the data keys.
  std::vector<std::string> later;
  for (const auto& declared : declared_options())
    if (!declared.recorded) later.emplace_back(declared.spec->name);
  const auto data = first + long(expected.size());
  CHECK(std::vector<std::string>(data, data + long(later.size())) == later);
  CHECK(*(data + long(later.size())) == "data");
  // A later option enters the config text (and the run id) only for the estimators declaring it.
  for (const auto& declared : declared_options()) {
    if (declared.recorded) continue;
    train::TrainConfig declaring;
    declaring.estimator = std::string(declared.estimators.front());
    const std::string line = fmt::format("\n{} = ", declared.spec->name);
    CHECK(train::config_text(declaring).find(line) != std::string::npos);
    CHECK(train::config_text(train::TrainConfig{}).find(line) == std::string::npos);
  }
  using T = train::ConfigKey::Type;
  const std::pair<const char*, T> types[] = {{"samples", T::integer},        {"temperature", T::real},
                                             {"baseline-decay", T::real},    {"baseline-hidden", T::string},
                                             {"baseline-lr", T::real},       {"baseline-centre", T::string},
                                             {"baseline-normalise", T::string}};
  for (const auto& [name, type] : types) CHECK(train::find_config_key(name)->type == type);
  // Every option any estimator declares is a key, once.
  for (const auto& entry : estimator_registry())
    for (const OptionSpec* spec : options_of(entry))
      CHECK(std::count(names.begin(), names.end(), std::string(spec->name)) == 1);
  // The default text, as it was recorded before the options were declared.
  const std::string text = train::config_text(train::TrainConfig{});
  CHECK(text.find("estimator = default\nsamples = 1\ntemperature = 1\nbaseline-decay = 0.9\nbaseline-hidden = 100\n"
                  "baseline-lr = 0.001\nbaseline-centre = true\nbaseline-normalise = true\ndata = fashion-mnist\n") !=
        std::string::npos);
}

TEST_CASE("run ids are those recorded before estimators declared their options", "[options]") {
  // Ids printed by `gradest train --print-run-id` at commit 50699de (before this change).
  const std::pair<const char*, const char*> runs[] = {
      {"--estimator reinforce", "9f529c05ebc0642a"},
      {"--estimator reinforce-nvil --baseline-hidden 7,3 --baseline-lr 0.01 --baseline-centre false "
       "--baseline-normalise no --baseline-decay 0.5 --samples 2",
       "50fe6a2dd932b360"},
      {"--estimator gumbel-softmax --temperature 0.25", "030786ad9db6eef0"},
      {"--estimator reinforce-ma --baseline-decay 0.75", "5e95eac4f85ddfb8"},
      {"--estimator vimco --samples 3", "c2408b7c89671b11"},
      {"--estimator reinforce-nvil --baseline-hidden linear", "2e475c7b45a473f6"},
  };
  for (const auto& [args, id] : runs) {
    const auto result = testing::run_gradest(fmt::format("train {} {} --print-run-id", kTiny, args));
    INFO(args << " -> " << result.output);
    CHECK(result.status == 0);
    CHECK(result.output == std::string(id) + "\n");
  }
}

TEST_CASE("the declarations drive validation: a value outside the declared range names the option and its values",
          "[options]") {
  auto error_for = [](const OptionSpec& spec, const std::string& text, std::string_view estimator) {
    EstimatorOptions options;
    options.samples = find_estimator(estimator)->info->min_samples;  // so that the option is what is wrong
    options.set_text(spec, text);
    std::string error;
    CHECK_FALSE(make_estimator(estimator, options, LatentKind::bernoulli, &error));
    return error;
  };
  CHECK(error_for(GumbelSoftmax::kTemperature, "0", "gumbel-softmax") == "temperature must be > 0, got 0");
  // As before, every option given is checked, whichever estimator runs.
  CHECK(error_for(GumbelSoftmax::kTemperature, "-1", "reinforce") == "temperature must be > 0, got -1");
  for (const auto& declared : declared_options()) {
    const OptionSpec& spec = *declared.spec;
    if (spec.type == OptionType::boolean || &spec == &kSamplesOption) continue;
    const std::string below = fmt::format("{}", spec.min - (spec.type == OptionType::real ? 0.5 : 1));
    const std::string message = error_for(spec, below, declared.estimators.front());
    INFO(spec.name << " = " << below << ": " << message);
    CHECK(message == fmt::format("{} must be {}, got {}", spec.name, allowed_text(spec), below));
    CHECK(message.find('\n') == std::string::npos);
  }
  EstimatorOptions zero;
  zero.samples = 0;
  std::string error;
  CHECK_FALSE(zero.valid(&error));
  CHECK(error == "samples must be an integer >= 1, got 0");
  // Text of the wrong type is refused where it is parsed, naming the option and the allowed values.
  EstimatorOptions options;
  CHECK_THROWS_WITH(options.set_text(find_estimator("reinforce-nvil")->options[2], "maybe"),
                    "option '--baseline-centre': invalid value 'maybe'; allowed: true, false");
  // And on the command line: one line, exit status 2.
  const auto result = testing::run_gradest(fmt::format("train {} --estimator reinforce-nvil --baseline-lr 0 --out "
                                                       "/nonexistent/x.h5",
                                                       kTiny));
  CHECK(result.status == 2);
  CHECK(result.output == "gradest train: baseline-lr must be > 0, got 0\n");
}

TEST_CASE("gradest list --options lists every declared option of every estimator", "[options][cli]") {
  const auto result = testing::run_gradest("list --options");
  REQUIRE(result.status == 0);
  // Blocks: an estimator's name on its own line, then one indented row per option.
  std::map<std::string, std::vector<std::string>> blocks;
  std::istringstream in(result.output);
  std::string current;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("  ", 0) == 0) blocks[current].push_back(line);
    else current = line;
  }
  for (const auto& entry : estimator_registry()) {
    const auto& rows = blocks[std::string(entry.info->name)];
    INFO(entry.info->name);
    CHECK(rows.size() == options_of(entry).size());
    for (const OptionSpec* declared : options_of(entry)) {
      OptionSpec spec = *declared;
      if (declared == &kSamplesOption) spec.min = entry.info->min_samples, spec.max = entry.info->max_samples;
      const auto row = std::find_if(rows.begin(), rows.end(), [&](const std::string& r) {
        return r.rfind(fmt::format("  {} ", spec.name), 0) == 0;
      });
      REQUIRE(row != rows.end());
      for (const std::string& part : {std::string(to_string(spec.type)), option_text(spec, default_value(spec)),
                                      allowed_text(spec), std::string(spec.help)})
        CHECK(row->find(part) != std::string::npos);
    }
  }
  CHECK(blocks["vimco"].front().find("an integer >= 2") != std::string::npos);
  CHECK(blocks["unordered-set"].front().find("in [2, 12]") != std::string::npos);
  // Without --options, the table of estimators as before.
  const auto table = testing::run_gradest("list");
  CHECK(table.output.rfind("estimator ", 0) == 0);
  CHECK(table.output.find("baseline-decay") == std::string::npos);
}

TEST_CASE("an estimator's own option becomes a training key and is validated, with no other file naming it",
          "[options]") {
  const auto entries = registry_and(kFakeEntry);
  const auto declared = declared_options(entries);
  REQUIRE(declared.back().spec == &FakeEstimator::kOptions[0]);
  CHECK(declared.back().estimators == std::vector<std::string_view>{"fake-estimator"});
  const auto keys = train::config_keys(declared);
  const auto names = key_names(keys);
  // After the registered estimators' options, before the data keys.
  const auto at = std::find(names.begin(), names.end(), "fake-knob");
  REQUIRE(at != names.end());
  CHECK(*(at - 1) == std::string(declared[declared.size() - 2].spec->name));
  CHECK(*(at + 1) == "data");
  const train::ConfigKey& key = keys[std::size_t(at - names.begin())];
  CHECK(key.type == train::ConfigKey::Type::integer);
  CHECK(key.help == "fake-estimator: how hard the fake estimator turns; an integer in [1, 5]");

  train::TrainConfig config;
  CHECK(key.get(config) == "3");
  key.set(config, "4");
  CHECK(key.get(config) == "4");
  std::string error;
  auto made = make_estimator(kFakeEntry, config.estimator_options, LatentKind::bernoulli, &error);
  REQUIRE(made);
  CHECK(dynamic_cast<FakeEstimator&>(*made).knob() == 4);
  key.set(config, "9");
  CHECK_FALSE(make_estimator(kFakeEntry, config.estimator_options, LatentKind::bernoulli, &error));
  CHECK(error == "fake-knob must be an integer in [1, 5], got 9");
  CHECK_THROWS_AS(key.set(config, "x"), ConfigError);
  CHECK_THROWS_WITH(key.set(config, "2,3"), "option '--fake-knob': invalid value '2,3'; allowed: one integer");
}

TEST_CASE("declarations of one option by two estimators must agree; samples is everyone's", "[options]") {
  // The check that guards the union: a second 'temperature' with another default is refused...
  static constexpr OptionSpec kOtherTemperature{.name = "temperature",
                                                .type = OptionType::real,
                                                .default_text = "2",
                                                .min = 0,
                                                .min_open = true,
                                                .help = "another temperature"};
  static constexpr OptionSpec kClash[] = {kOtherTemperature};
  CHECK_THROWS_AS(declared_options(registry_and({&FakeEstimator::kInfo, &make_fake, kClash})), std::logic_error);
  // ...one that agrees (help may differ) joins the registered declaration...
  static constexpr OptionSpec kSameTemperature{.name = "temperature",
                                               .type = OptionType::real,
                                               .default_text = "1",
                                               .min = 0,
                                               .min_open = true,
                                               .help = "the same temperature"};
  static constexpr OptionSpec kAgree[] = {kSameTemperature};
  const auto declared = declared_options(registry_and({&FakeEstimator::kInfo, &make_fake, kAgree}));
  CHECK(declared.size() == declared_options().size());
  CHECK(declared[1].estimators ==
        std::vector<std::string_view>{"gumbel-softmax", "straight-through-gumbel", "fake-estimator"});
  // ...and no estimator declares samples itself.
  static constexpr OptionSpec kOwnSamples[] = {kSamplesOption};
  CHECK_THROWS_AS(declared_options(registry_and({&FakeEstimator::kInfo, &make_fake, kOwnSamples})), std::logic_error);
}
