#include "store/h5read.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <regex>

#include "core/errors.hpp"
#include "core/files.hpp"
#include "core/text.hpp"
#include "store/h5io.hpp"
#include "store/h5sandbox.hpp"

namespace gradest::h5 {

namespace {

constexpr std::string_view kCorrupted = "corrupted or not written by gradest";

// Calls f; an HDF5 failure becomes InputError naming the file and the object.
template <class F>
auto guarded(const H5::H5Location& location, std::string_view kind, const std::string& child, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const H5::Exception&) {
    throw InputError(failure(location, "read", kind, child, kCorrupted));
  }
}

// The root attributes of every gradest file and its schema version, before anything else is read.
void require_gradest_root(const H5::H5File& file, const std::string& path) {
  const H5::Group root = open_group(file.openGroup("/"), "/");
  const bool marked = guarded(root, "attributes of", "", [&] {
    return root.attrExists("schema_version") && root.attrExists("gradest_version");
  });
  if (!marked) throw InputError(fmt::format("'{}' is not a gradest file (no schema_version attribute)", path));
  const std::int64_t version = read_int_attribute(root, "schema_version");
  if (version != h5::kSchemaVersion)
    throw InputError(fmt::format("'{}' has schema version {}; this gradest reads version {}", path, version,
                                 h5::kSchemaVersion));
}

void require_runs(const H5::H5File& file, const std::string& path) {
  const H5::Group root = file.openGroup("/");
  const bool has_runs = exists(root, "runs");
  if (has_runs && !members(open_group(root, "runs")).empty()) return;
  throw InputError(fmt::format("'{}' holds no training runs ({}); files of runs are written by train, sweep, merge, "
                               "variance and rerun --out, not by x2, toy or toy-bernoulli",
                               path, has_runs ? "its /runs group is empty" : "no /runs group"));
}

std::vector<std::string>& opened_files() {
  static std::vector<std::string> files;
  return files;
}

H5::H5File open_checked(const std::string& path, std::string_view what, bool gradest, bool runs) {
  files::require_input(path, what);
  note_opened(path);
  bool is_hdf5 = false;
  try {
    is_hdf5 = H5::H5File::isHdf5(path.c_str());
  } catch (const H5::Exception&) {
    is_hdf5 = false;
  }
  if (!is_hdf5) throw InputError(fmt::format("'{}' is not an HDF5 file (or is truncated)", path));
  auto open = [&] {
    try {
      return H5::H5File(path, H5F_ACC_RDONLY);
    } catch (const H5::Exception&) {
      throw InputError(fmt::format("'{}' cannot be opened as HDF5: truncated or corrupted", path));
    }
  };
  auto check = [&](const H5::H5File& file) {
    if (gradest) require_gradest_root(file, path);
    if (runs) require_runs(file, path);
  };
  sandboxed(path, [&] {
    const H5::H5File file = open();
    reaching("its root group");
    check(file);
    read_everything(file);
  });
  H5::H5File file = open();
  check(file);
  return file;
}

std::string attribute_path(const H5::H5Object& object, const std::string& name) {
  return object_path(object) + "@" + name;
}

// The attribute `name` of object, opened; InputError if it is missing.
H5::Attribute open_attribute(const H5::H5Object& object, const std::string& name) {
  if (!exists_attribute(object, name))
    throw InputError(fmt::format("'{}': attribute {} is missing; {}", file_name(object),
                                 attribute_path(object, name), kCorrupted));
  return guarded(object, "attribute", "@" + name, [&] { return object.openAttribute(name); });
}

// A one-value attribute of class `wanted` (H5T_INTEGER, H5T_FLOAT or H5T_STRING).
H5::Attribute scalar_attribute(const H5::H5Object& object, const std::string& name, H5T_class_t wanted) {
  H5::Attribute attr = open_attribute(object, name);
  const bool numeric = wanted == H5T_INTEGER || wanted == H5T_FLOAT;
  const bool ok = guarded(object, "attribute", "@" + name, [&] {
    const H5T_class_t c = attr.getTypeClass();
    return (c == wanted || (numeric && (c == H5T_INTEGER || c == H5T_FLOAT))) &&
           checked_points(attr, 8) == 1;
  });
  if (!ok)
    throw InputError(fmt::format("'{}': attribute {} is not one {}; {}", file_name(object),
                                 attribute_path(object, name), numeric ? "number" : "string", kCorrupted));
  return attr;
}

hsize_t checked(hssize_t points, std::size_t stored_bytes, std::size_t converted_bytes,
                const std::function<std::string(std::string)>& fail) {
  const std::uint64_t bytes = std::max<std::uint64_t>({stored_bytes, converted_bytes, 1});
  if (points < 0 || std::uint64_t(points) > kMaxReadBytes / bytes)
    throw InputError(fail(fmt::format("its size ({} values of {} bytes) is over the {} MiB gradest reads; corrupted?",
                                      points, bytes, kMaxReadBytes >> 20)));
  return hsize_t(points);
}

template <class T>
std::vector<T> read_numbers(const H5::Group& group, const std::string& name, const H5::PredType& type) {
  const H5::DataSet ds = open_dataset(group, name);
  return guarded(group, "dataset", name, [&] {
    const H5T_class_t c = ds.getTypeClass();
    if (c != H5T_INTEGER && c != H5T_FLOAT)
      throw InputError(failure(group, "read", "dataset", name, "it is not numeric; corrupted or not written by gradest"));
    std::vector<T> out(checked_points(ds, sizeof(T)));
    if (!out.empty()) ds.read(out.data(), type);
    return out;
  });
}

}  // namespace

H5::H5File open_hdf5_input(const std::string& path, std::string_view what) { return open_checked(path, what, false, false); }
H5::H5File open_gradest_file(const std::string& path, std::string_view what) { return open_checked(path, what, true, false); }
H5::H5File open_run_file(const std::string& path, std::string_view what) { return open_checked(path, what, true, true); }

void note_opened(const std::string& path) {
  auto& files = opened_files();
  if (std::find(files.begin(), files.end(), path) == files.end()) files.push_back(path);
}

std::string opened_files_text() {
  std::string out;
  for (const auto& f : opened_files()) out += (out.empty() ? "'" : ", '") + f + "'";
  return out.empty() ? "a file" : out;
}

std::string file_name(const H5::H5Location& location) {
  const ssize_t size = H5Fget_name(location.getId(), nullptr, 0);
  if (size <= 0) return "(unknown file)";
  std::string name(std::size_t(size) + 1, '\0');
  H5Fget_name(location.getId(), name.data(), name.size());
  name.resize(std::size_t(size));
  static const std::regex partial(R"(\.partial-[0-9]+$)");
  return std::regex_replace(name, partial, "");
}

std::string object_path(const H5::H5Location& location, const std::string& child) {
  std::string path = "?";
  const ssize_t size = H5Iget_name(location.getId(), nullptr, 0);
  if (size > 0) {
    path.assign(std::size_t(size) + 1, '\0');
    H5Iget_name(location.getId(), path.data(), path.size());
    path.resize(std::size_t(size));
  }
  if (child.empty() || child.front() == '@') return path + child;
  if (child.front() == '/') return child;
  return path == "/" ? "/" + child : path + "/" + child;
}

std::string failure(const H5::H5Location& location, std::string_view verb, std::string_view kind,
                    const std::string& child, std::string_view reason) {
  return fmt::format("'{}': cannot {} {} {}: {}", file_name(location), verb, kind, object_path(location, child), reason);
}

bool exists(const H5::Group& group, const std::string& path) {
  return guarded(group, "group", path, [&] {
    std::string current = path.empty() || path.front() != '/' ? "" : "/";
    for (const auto& part : text::split(path, '/')) {
      if (part.empty()) continue;
      current += (current.empty() || current == "/" ? "" : "/") + part;
      if (!group.nameExists(current)) return false;
    }
    return true;
  });
}

H5::Group open_group(const H5::Group& group, const std::string& path) {
  if (!exists(group, path)) throw InputError(failure(group, "read", "group", path, "it does not exist"));
  return guarded(group, "group", path, [&] { return group.openGroup(path); });
}

H5::DataSet open_dataset(const H5::Group& group, const std::string& path) {
  if (!exists(group, path)) throw InputError(failure(group, "read", "dataset", path, "it does not exist"));
  return guarded(group, "dataset", path, [&] { return group.openDataSet(path); });
}

std::vector<std::pair<std::string, H5O_type_t>> members(const H5::Group& group) {
  return guarded(group, "members of group", "", [&] {
    const hsize_t n = group.getNumObjs();
    if (n > kMaxMembers)
      throw InputError(failure(group, "read", "group", "", fmt::format("it claims {} members; corrupted?", n)));
    std::vector<std::pair<std::string, H5O_type_t>> out;
    for (hsize_t i = 0; i < n; ++i) {
      const std::string name = group.getObjnameByIdx(i);
      out.emplace_back(name, group.childObjType(name));
    }
    return out;
  });
}

std::vector<std::string> attribute_names(const H5::H5Object& object) {
  return guarded(object, "attributes of", "", [&] {
    const int n = object.getNumAttrs();
    if (n < 0 || hsize_t(n) > kMaxMembers)
      throw InputError(failure(object, "read", "attributes of", "", fmt::format("it claims {} attributes; corrupted?", n)));
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) out.push_back(object.openAttribute(unsigned(i)).getName());
    return out;
  });
}

hsize_t checked_points(const H5::DataSet& dataset, std::size_t converted_bytes) {
  return guarded(dataset, "dataset", "", [&] {
    return checked(dataset.getSpace().getSimpleExtentNpoints(), dataset.getDataType().getSize(), converted_bytes,
                   [&](std::string reason) { return failure(dataset, "read", "dataset", "", reason); });
  });
}

hsize_t checked_points(const H5::Attribute& attribute, std::size_t converted_bytes) {
  return checked(attribute.getSpace().getSimpleExtentNpoints(), attribute.getDataType().getSize(), converted_bytes,
                 [&](std::string reason) {
                   return fmt::format("'{}': cannot read attribute {}@{}: {}", file_name(attribute),
                                      object_path(attribute), attribute.getName(), reason);
                 });
}

bool exists_attribute(const H5::H5Object& object, const std::string& name) {
  return guarded(object, "attribute", "@" + name, [&] { return object.attrExists(name); });
}

std::string read_attribute_text(const H5::H5Object& object, const std::string& name) {
  const H5::Attribute attr = open_attribute(object, name);
  const auto [type, points] = guarded(object, "attribute", "@" + name, [&] {
    return std::pair(attr.getTypeClass(), checked_points(attr, 8));
  });
  if (type == H5T_STRING && points == 1) return read_string_attribute(object, name);
  if (type == H5T_INTEGER && points == 1) return std::to_string(read_int_attribute(object, name));
  if (type == H5T_FLOAT && points == 1) return fmt::format("{}", read_real_attribute(object, name));
  return {};
}

std::string read_string_attribute(const H5::H5Object& object, const std::string& name) {
  H5::Attribute attr = scalar_attribute(object, name, H5T_STRING);
  return guarded(object, "attribute", "@" + name, [&] {
    std::string value;
    attr.read(attr.getStrType(), value);
    return value;
  });
}

std::int64_t read_int_attribute(const H5::H5Object& object, const std::string& name) {
  H5::Attribute attr = scalar_attribute(object, name, H5T_INTEGER);
  return guarded(object, "attribute", "@" + name, [&] {
    std::int64_t value = 0;
    attr.read(H5::PredType::NATIVE_INT64, &value);
    return value;
  });
}

double read_real_attribute(const H5::H5Object& object, const std::string& name) {
  H5::Attribute attr = scalar_attribute(object, name, H5T_FLOAT);
  return guarded(object, "attribute", "@" + name, [&] {
    double value = 0;
    attr.read(H5::PredType::NATIVE_DOUBLE, &value);
    return value;
  });
}

std::vector<char> read_raw(const H5::DataSet& dataset) {
  return guarded(dataset, "dataset", "", [&] {
    const H5::DataType type = dataset.getDataType();
    if (type.getClass() == H5T_VLEN || (type.getClass() == H5T_STRING && H5::StrType(dataset).isVariableStr()))
      throw InputError(failure(dataset, "read", "dataset", "", "it holds variable-length data; " + std::string(kCorrupted)));
    std::vector<char> bytes(checked_points(dataset, 0) * type.getSize());
    if (!bytes.empty()) dataset.read(bytes.data(), type);
    return bytes;
  });
}

std::vector<char> read_raw_attribute(const H5::H5Object& object, const std::string& name) {
  H5::Attribute attr = open_attribute(object, name);
  const H5T_class_t type_class = guarded(object, "attribute", "@" + name, [&] { return attr.getTypeClass(); });
  if (type_class == H5T_STRING) {
    const std::string value = read_string_attribute(object, name);
    return std::vector<char>(value.begin(), value.end());
  }
  return guarded(object, "attribute", "@" + name, [&] {
    const H5::DataType type = attr.getDataType();
    if (type_class == H5T_VLEN)
      throw InputError(failure(object, "read", "attribute", "@" + name, "it holds variable-length data; " + std::string(kCorrupted)));
    std::vector<char> bytes(checked_points(attr, 0) * type.getSize());
    if (!bytes.empty()) attr.read(type, bytes.data());
    return bytes;
  });
}

std::vector<double> read_vector(const H5::Group& group, const std::string& name) {
  return read_numbers<double>(group, name, H5::PredType::NATIVE_DOUBLE);
}

std::vector<std::int64_t> read_int_vector(const H5::Group& group, const std::string& name) {
  return read_numbers<std::int64_t>(group, name, H5::PredType::NATIVE_INT64);
}

MatrixD read_matrix(const H5::Group& group, const std::string& name) {
  const H5::DataSet ds = open_dataset(group, name);
  return guarded(group, "dataset", name, [&] {
    const H5::DataSpace space = ds.getSpace();
    if (space.getSimpleExtentNdims() != 2 || ds.getTypeClass() != H5T_FLOAT)
      throw InputError(failure(group, "read", "dataset", name, "it is not a two-dimensional float dataset"));
    checked_points(ds, sizeof(double));
    hsize_t dims[2] = {0, 0};
    space.getSimpleExtentDims(dims);
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> m(dims[0], dims[1]);
    if (m.size() > 0) ds.read(m.data(), H5::PredType::NATIVE_DOUBLE);
    return MatrixD(m);
  });
}

}  // namespace gradest::h5
