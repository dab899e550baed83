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

std::vector<char> read_raw(const H5::DataSet& ds) {
  H5::DataType type = ds.getDataType();
  const hssize_t n = ds.getSpace().getSimpleExtentNpoints();
  if (type.getClass() == H5T_STRING && H5::StrType(ds).isVariableStr()) {
    throw InputError("variable-length string datasets are not compared");
  }
  std::vector<char> bytes(static_cast<std::size_t>(n) * type.getSize());
  if (n > 0) ds.read(bytes.data(), type);
  return bytes;
}

std::vector<char> read_raw(const H5::Attribute& attr) {
  H5::DataType type = attr.getDataType();
  if (type.getClass() == H5T_STRING) {
    std::string value;
    attr.read(attr.getStrType(), value);
    return std::vector<char>(value.begin(), value.end());
  }
  const hssize_t n = attr.getSpace().getSimpleExtentNpoints();
  std::vector<char> bytes(static_cast<std::size_t>(n) * type.getSize());
  if (n > 0) attr.read(type, bytes.data());
  return bytes;
}

std::map<std::string, H5O_type_t> children(const H5::Group& g) {
  std::map<std::string, H5O_type_t> out;
  for (hsize_t i = 0; i < g.getNumObjs(); ++i) {
    const std::string name = g.getObjnameByIdx(i);
    out[name] = g.childObjType(name);
  }
  return out;
}

std::string compare_attributes(const H5::H5Object& a, const H5::H5Object& b, const std::string& where) {
  std::map<std::string, std::vector<char>> va, vb;
  for (int i = 0; i < a.getNumAttrs(); ++i) {
    H5::Attribute attr = a.openAttribute(static_cast<unsigned>(i));
    if (!is_timing_name(attr.getName())) va[attr.getName()] = read_raw(attr);
  }
  for (int i = 0; i < b.getNumAttrs(); ++i) {
    H5::Attribute attr = b.openAttribute(static_cast<unsigned>(i));
    if (!is_timing_name(attr.getName())) vb[attr.getName()] = read_raw(attr);
  }
  for (const auto& [name, value] : va) {
    auto it = vb.find(name);
    if (it == vb.end() || it->second != value) return fmt::format("attribute {}@{} differs", where, name);
  }
  if (va.size() != vb.size()) return fmt::format("attributes of {} differ", where);
  return {};
}

std::string compare_at(const H5::Group& a, const H5::Group& b, const std::string& where) {
  if (auto diff = compare_attributes(a, b, where.empty() ? "." : where); !diff.empty()) return diff;
  const auto ca = children(a), cb = children(b);
  if (ca != cb) return fmt::format("{} holds different members", where.empty() ? "." : where);
  for (const auto& [name, type] : ca) {
    const std::string path = where.empty() ? name : where + "/" + name;
    if (type == H5O_TYPE_GROUP) {
      if (auto diff = compare_at(a.openGroup(name), b.openGroup(name), path); !diff.empty()) return diff;
    } else if (type == H5O_TYPE_DATASET) {
      if (is_timing_name(name)) continue;
      H5::DataSet da = a.openDataSet(name), db = b.openDataSet(name);
      if (!(da.getDataType() == db.getDataType())) return fmt::format("{} has a different type", path);
      if (read_raw(da) != read_raw(db)) return fmt::format("{} differs", path);
      if (auto diff = compare_attributes(da, db, path); !diff.empty()) return diff;
    }
  }
  return {};
}

}  // namespace

std::string compare_groups(const H5::Group& a, const H5::Group& b) { return compare_at(a, b, ""); }

std::size_t merge_files(const std::vector<std::string>& inputs, const std::string& output, bool overwrite,
                        const h5::RunMetadata& metadata) {
  if (inputs.empty()) throw InputError("no input files; give one or more gradest .h5 files");
  std::vector<H5::H5File> files;
  for (const auto& path : inputs) files.push_back(h5::open_gradest_file(path));
  // Check for conflicts before writing anything.
  std::map<std::string, std::size_t> first_seen;
  std::vector<std::pair<std::size_t, std::string>> to_copy;
  for (std::size_t f = 0; f < files.size(); ++f) {
    if (!files[f].nameExists("/runs")) continue;
    H5::Group runs = files[f].openGroup("/runs");
    for (hsize_t i = 0; i < runs.getNumObjs(); ++i) {
      const std::string id = runs.getObjnameByIdx(i);
      auto it = first_seen.find(id);
      if (it == first_seen.end()) {
        first_seen[id] = f;
        to_copy.emplace_back(f, id);
        continue;
      }
      const std::string diff =
          compare_groups(files[it->second].openGroup("/runs/" + id), files[f].openGroup("/runs/" + id));
      if (!diff.empty())
        throw InputError(fmt::format("run {} is in '{}' and '{}' with different data ({}); refusing to merge", id,
                                     inputs[it->second], inputs[f], diff));
    }
  }
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
    H5::Group src = files[f].openGroup("/runs");
    if (H5Ocopy(src.getId(), id.c_str(), runs_out.getId(), id.c_str(), H5P_DEFAULT, H5P_DEFAULT) < 0)
      throw std::runtime_error(fmt::format("cannot copy run {} from '{}'", id, inputs[f]));
  }
  out.commit();
  return to_copy.size();
}

}  // namespace gradest::merge
