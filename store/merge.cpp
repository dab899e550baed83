#include "store/merge.hpp"

#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <map>

#include "core/errors.hpp"
#include "core/limits.hpp"
#include "core/text.hpp"

namespace gradest::merge {


bool is_timing_name(const std::string& name) {
  static const char* names[] = {"wall_time", "seconds", "seconds_per_estimate", "steps_per_second", "date_utc",
                                "elapsed_seconds", "command_line", "git_commit", "host"};
  for (const char* n : names)
    if (name == n) return true;
  return false;
}

namespace {

std::map<std::string, std::vector<char>> attribute_values(const H5::H5Object& object) {
  std::map<std::string, std::vector<char>> out;
  for (const auto& name : h5::attribute_names(object))
    if (!is_timing_name(name)) out[name] = h5::read_raw_attribute(object, name);
  return out;
}

std::string compare_attributes(const H5::H5Object& a, const H5::H5Object& b, const std::string& where) {
  const auto va = attribute_values(a), vb = attribute_values(b);
  for (const auto& [name, value] : va) {
    auto it = vb.find(name);
    if (it == vb.end() || it->second != value) return fmt::format("attribute {}@{} differs", where, name);
  }
  if (va.size() != vb.size()) return fmt::format("attributes of {} differ", where);
  return {};
}

std::string compare_datasets(const H5::Group& a, const H5::Group& b, const std::string& name, const std::string& path) {
  const H5::DataSet da = h5::open_dataset(a, name), db = h5::open_dataset(b, name);
  if (!(da.getDataType() == db.getDataType())) return fmt::format("{} has a different type", path);
  if (h5::read_raw(da) != h5::read_raw(db)) return fmt::format("{} differs", path);
  return compare_attributes(da, db, path);
}

std::string compare_at(const H5::Group& a, const H5::Group& b, const std::string& where, int depth) {
  if (depth > h5::kMaxGroupDepth)
    throw InputError(h5::failure(a, "compare", "group", "", fmt::format("it is nested more than {} groups deep",
                                                                       h5::kMaxGroupDepth)));
  if (auto diff = compare_attributes(a, b, where.empty() ? "." : where); !diff.empty()) return diff;
  const auto ca = h5::members(a), cb = h5::members(b);
  if (std::map(ca.begin(), ca.end()) != std::map(cb.begin(), cb.end()))
    return fmt::format("{} holds different members", where.empty() ? "." : where);
  for (const auto& [name, type] : ca) {
    const std::string path = where.empty() ? name : where + "/" + name;
    std::string diff;
    if (type == H5O_TYPE_GROUP)
      diff = compare_at(h5::open_group(a, name), h5::open_group(b, name), path, depth + 1);
    else if (type == H5O_TYPE_DATASET && !is_timing_name(name))
      diff = compare_datasets(a, b, name, path);
    if (!diff.empty()) return diff;
  }
  return {};
}

// Every input's run ids, refusing a run held twice with different data; (input, id) to copy.
std::vector<std::pair<std::size_t, std::string>> runs_to_copy(const std::vector<H5::H5File>& files,
                                                               const std::vector<std::string>& inputs) {
  std::map<std::string, std::size_t> first_seen;
  std::vector<std::pair<std::size_t, std::string>> to_copy;
  for (std::size_t f = 0; f < files.size(); ++f) {
    const H5::Group runs = h5::open_group(files[f].openGroup("/"), "runs");
    for (const auto& member : h5::members(runs)) {
      const std::string& id = member.first;
      auto it = first_seen.find(id);
      if (it == first_seen.end()) {
        first_seen[id] = f;
        to_copy.emplace_back(f, id);
        continue;
      }
      const std::string diff = compare_groups(h5::open_group(files[it->second].openGroup("/runs"), id),
                                              h5::open_group(runs, id));
      if (!diff.empty())
        throw InputError(fmt::format("run {} is in '{}' and '{}' with different data ({}); refusing to merge", id,
                                     inputs[it->second], inputs[f], diff));
    }
  }
  return to_copy;
}

}  // namespace

std::string compare_groups(const H5::Group& a, const H5::Group& b) {
  try {
    return compare_at(a, b, "", 0);
  } catch (const H5::Exception&) {
    throw InputError(fmt::format("cannot compare {} of '{}' with {} of '{}': corrupted or not written by gradest",
                                 h5::object_path(a), h5::file_name(a), h5::object_path(b), h5::file_name(b)));
  }
}

std::size_t merge_files(const std::vector<std::string>& inputs, const std::string& output, bool overwrite,
                        const h5::RunMetadata& metadata) {
  if (inputs.empty()) throw InputError("no input files; give one or more gradest files of runs");
  text::require_distinct(inputs, "inputs", "file");
  std::vector<H5::H5File> files;
  for (const auto& path : inputs) files.push_back(h5::open_run_file(path, "merge input"));
  const auto to_copy = runs_to_copy(files, inputs);  // before anything is written
  if (to_copy.empty()) throw InputError("the inputs hold no runs; nothing to merge");
  // Built in memory (h5::Staging): a full disk must not reach libhdf5's H5Ocopy, which crashes on
  // a failed write. The merged file is at most about the inputs' size.
  double bytes = 0;
  std::error_code ec;
  for (const auto& path : inputs) bytes += double(std::filesystem::file_size(path, ec));
  limits::require_memory(fmt::format("merge of {} files", inputs.size()), "the merged file, built in memory", 2 * bytes,
                         "the number of input files");
  h5::OutputFile out(output, overwrite, metadata, h5::Staging::memory);
  H5::Group runs_out = h5::ensure_group(out.file(), "/runs");
  for (const auto& [f, id] : to_copy) {
    H5::Group src = h5::open_group(files[f].openGroup("/"), "runs");
    if (H5Ocopy(src.getId(), id.c_str(), runs_out.getId(), id.c_str(), H5P_DEFAULT, H5P_DEFAULT) < 0)
      throw std::runtime_error(fmt::format("cannot copy run {} from '{}' to '{}'", id, inputs[f], output));
  }
  out.commit();
  return to_copy.size();
}

}  // namespace gradest::merge
