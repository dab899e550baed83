#include "sweep/sweep.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "core/errors.hpp"
#include "core/files.hpp"
#include "core/text.hpp"
#include "estimators/estimator.hpp"

namespace gradest::sweep {

bool is_list_valued(const std::string& key) {
  static const std::set<std::string> keys = [] {
    std::set<std::string> out = {"encoder", "decoder", "probe-estimators", "k"};
    for (const auto& declared : declared_options())  // estimators' integer-list options (baseline-hidden)
      if (declared.spec->type == OptionType::integer_list) out.insert(std::string(declared.spec->name));
    return out;
  }();
  return keys.count(key) > 0;
}

std::string RunSpec::label() const {
  std::string out;
  for (const auto& [key, value] : settings)
    for (const auto& g : grid_keys)
      if (g == key) out += (out.empty() ? "" : " ") + key + "=" + value;
  return out.empty() ? "(single run)" : out;
}

namespace {

std::vector<std::string> grid_values(const std::string& key, const std::string& raw, const std::string& source) {
  std::vector<std::string> items;
  if (raw.find('|') != std::string::npos || is_list_valued(key)) {
    items = text::split(raw, '|');
  } else {
    for (const auto& item : text::split(raw, ',')) {
      const auto dots = item.find("..");
      if (dots != std::string::npos && key != "data") {
        for (auto v : text::parse_int_list(item, key)) items.push_back(std::to_string(v));
      } else {
        items.push_back(item);
      }
    }
  }
  std::set<std::string> seen;
  for (const auto& item : items) {
    if (item.empty()) throw ConfigError(fmt::format("{}: key '{}' has an empty value in '{}'", source, key, raw));
    // Each value becomes one argument of a `gradest train` process (the kernel refuses one over 128 KiB).
    if (item.size() > kMaxValueLength)
      throw ConfigError(fmt::format("{}: a value of key '{}' has {} characters; at most {} are allowed", source, key,
                                    item.size(), kMaxValueLength));
    if (!seen.insert(item).second)
      throw ConfigError(fmt::format("{}: key '{}' lists '{}' twice in '{}'; list each value once", source, key, item, raw));
  }
  return items;
}

// INI lines as Boost.Program_options' config-file parser reads them: '#' starts a comment, blank
// lines are skipped, "[name]" prefixes the following keys with "name.", "key = value" (trimmed) is an
// entry, and any other line is refused.
std::vector<std::pair<std::string, std::string>> read_ini(const std::string& text, const std::string& source) {
  std::vector<std::pair<std::string, std::string>> entries;
  std::istringstream in(text);
  std::string prefix;
  for (std::string line; std::getline(in, line);) {
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    line = text::trim(line);
    if (line.empty()) continue;
    if (line.front() == '[' && line.back() == ']') {
      const std::string section = line.substr(1, line.size() - 2);
      if (section.empty()) throw ConfigError(fmt::format("{}: unknown section []; allowed: [sweep], [train]", source));
      prefix = section.back() == '.' ? section : section + ".";
    } else if (const auto eq = line.find('='); eq != std::string::npos) {
      entries.emplace_back(prefix + text::trim(line.substr(0, eq)), text::trim(line.substr(eq + 1)));
    } else {
      throw ConfigError(fmt::format("{}: malformed config: the options configuration file contains an invalid line '{}'",
                                    source, line));
    }
  }
  return entries;
}

}  // namespace

// Sweep configs are a few hundred bytes; a larger file is not one.
constexpr std::uintmax_t kMaxConfigBytes = std::uintmax_t{1} << 20;

SweepSpec parse_config(const std::string& text, const std::string& source) {
  SweepSpec spec;
  std::set<std::string> seen;
  for (const auto& [full_key, raw_value] : read_ini(text, source)) {
    std::string key = full_key;
    std::string section;
    if (const auto dot = key.find('.'); dot != std::string::npos) {
      section = key.substr(0, dot);
      key = key.substr(dot + 1);
    }
    if (!section.empty() && section != "sweep" && section != "train")
      throw ConfigError(fmt::format("{}: unknown section [{}]; allowed: [sweep], [train]", source, section));
    const std::string value = text::trim(raw_value);
    if (section == "sweep") {
      if (key == "name") {
        spec.name = value;
      } else if (key == "exclude") {
        std::vector<Setting> rule;
        std::istringstream words(value);
        std::string word;
        while (words >> word) {
          const auto eq = word.find('=');
          if (eq == std::string::npos || eq == 0 || eq + 1 == word.size())
            throw ConfigError(fmt::format("{}: exclude '{}': write key=value pairs separated by spaces", source, value));
          rule.emplace_back(word.substr(0, eq), word.substr(eq + 1));
        }
        if (rule.empty()) throw ConfigError(fmt::format("{}: exclude has no key=value pairs", source));
        spec.exclusions.push_back(std::move(rule));
      } else {
        throw ConfigError(fmt::format("{}: unknown key '{}' in [sweep]; allowed: name, exclude", source, key));
      }
      continue;
    }
    if (value.empty()) throw ConfigError(fmt::format("{}: key '{}' has no value", source, key));
    if (key == "out" || key == "force" || key == "init-from")
      throw ConfigError(fmt::format("{}: key '{}' is set by the sweep itself and cannot be given", source, key));
    if (!seen.insert(key).second) throw ConfigError(fmt::format("{}: key '{}' is given twice", source, key));
    spec.keys.emplace_back(key, grid_values(key, value, source));
  }
  for (const auto& rule : spec.exclusions)
    for (const auto& [key, value] : rule)
      if (!seen.count(key)) throw ConfigError(fmt::format("{}: exclude names key '{}', which the config does not set", source, key));
  if (spec.keys.empty()) throw ConfigError(fmt::format("{}: no training keys; the grid is empty", source));
  double grid = 1;
  for (const auto& [key, values] : spec.keys) grid *= double(values.size());
  if (grid > 100000) throw ConfigError(fmt::format("{}: the grid has {:.0f} runs; at most 100000 are allowed", source, grid));
  return spec;
}

SweepSpec read_config(const std::string& path) {
  files::require_input(path, "sweep config", kMaxConfigBytes);
  std::ifstream in(path);
  if (!in) throw ConfigError(fmt::format("cannot read sweep config '{}'", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  SweepSpec spec = parse_config(buffer.str(), path);
  if (spec.name.empty()) {
    std::string stem = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
    if (const auto dot = stem.rfind('.'); dot != std::string::npos) stem = stem.substr(0, dot);
    spec.name = stem;
  }
  return spec;
}

std::vector<RunSpec> expand(const SweepSpec& spec) {
  std::vector<std::string> grid_keys;
  for (const auto& [key, values] : spec.keys)
    if (values.size() > 1) grid_keys.push_back(key);
  std::vector<RunSpec> runs;
  std::vector<std::size_t> counter(spec.keys.size(), 0);
  std::size_t index = 0;
  while (true) {
    RunSpec run;
    for (std::size_t i = 0; i < spec.keys.size(); ++i) run.settings.emplace_back(spec.keys[i].first, spec.keys[i].second[counter[i]]);
    bool excluded = false;
    for (const auto& rule : spec.exclusions) {
      bool all = true;
      for (const auto& [key, value] : rule) {
        bool match = false;
        for (const auto& [k, v] : run.settings) match |= (k == key && v == value);
        all &= match;
      }
      excluded |= all;
    }
    if (!excluded) {
      run.index = index++;
      run.grid_keys = grid_keys;
      for (const auto& [key, value] : run.settings) {
        run.args.push_back("--" + key);
        run.args.push_back(value);
      }
      runs.push_back(std::move(run));
    }
    std::size_t i = spec.keys.size();
    while (i > 0) {
      --i;
      if (++counter[i] < spec.keys[i].second.size()) break;
      counter[i] = 0;
      if (i == 0) return runs;
    }
    if (spec.keys.empty()) return runs;
  }
}

Shard resolve_shard(const std::optional<std::string>& flag) {
  return resolve_shard(flag, [](const char* name) { return std::getenv(name); });
}

Shard resolve_shard(const std::optional<std::string>& flag, const std::function<const char*(const char*)>& getenv) {
  auto parse_int = [](const std::string& text, const std::string& what) {
    std::size_t used = 0;
    long value = -1;
    try {
      value = std::stol(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size()) throw ConfigError(fmt::format("{}: '{}' is not an integer", what, text));
    return static_cast<int>(value);
  };
  auto make = [](int index, int count, std::string source) {
    if (count < 1 || index < 0 || index >= count)
      throw ConfigError(fmt::format("shard {}/{} from {} is out of range; need 0 <= i < n", index, count, source));
    return Shard{index, count, std::move(source)};
  };
  if (flag) {
    const auto slash = flag->find('/');
    if (slash == std::string::npos) throw ConfigError(fmt::format("--shard '{}': write i/n with 0 <= i < n", *flag));
    return make(parse_int(flag->substr(0, slash), "--shard"), parse_int(flag->substr(slash + 1), "--shard"), "--shard");
  }
  const std::pair<const char*, const char*> sources[] = {{"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT"},
                                                         {"SLURM_PROCID", "SLURM_NTASKS"},
                                                         {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
                                                         {"PMI_RANK", "PMI_SIZE"}};
  for (const auto& [rank_var, size_var] : sources) {
    const char* rank = getenv(rank_var);
    const char* size = getenv(size_var);
    if (!rank || !size) continue;
    int index = parse_int(rank, rank_var);
    if (std::string(rank_var) == "SLURM_ARRAY_TASK_ID")
      if (const char* min = getenv("SLURM_ARRAY_TASK_MIN")) index -= parse_int(min, "SLURM_ARRAY_TASK_MIN");
    return make(index, parse_int(size, size_var), rank_var);
  }
  return Shard{0, 1, "none"};
}

}  // namespace gradest::sweep
