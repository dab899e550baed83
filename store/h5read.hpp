#pragma once
// Reading HDF5 files gradest did not just write: every input (gradest files, --init-from runs, data
// files) is opened here, and every read names the file and the object when it fails.
//
// - open_hdf5_input is the one place that opens an HDF5 input: a regular file (core/files), an HDF5
//   signature, then the whole file read once in a sandbox (store/h5sandbox.hpp) so that corrupted
//   metadata that would crash libhdf5 crashes a forked child instead, and only then opened here.
// - open_gradest_file adds gradest's root attributes and schema version, checked before anything
//   else is read; open_run_file adds a non-empty /runs group (files of runs: train, sweep, merge,
//   variance, rerun --out).
// - The readers below throw InputError "'<file>': cannot read <what> <object>: corrupted or not
//   written by gradest" instead of HDF5's bare "H5Dread failed", and bound every size read from a
//   file (dataset extents, attribute sizes) before allocating.
#include <H5Cpp.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "models/types.hpp"

namespace gradest::h5 {

// The largest dataset or attribute value gradest reads, in bytes (as stored and as converted):
// far above any run's parameters, far below what would exhaust memory.
inline constexpr std::uint64_t kMaxReadBytes = std::uint64_t{1} << 30;
// Groups nested deeper than this are refused (a corrupted link can make a group its own ancestor).
inline constexpr int kMaxGroupDepth = 32;

// Opens an HDF5 input read-only; `what` names its role ("gradest file", "data file", "--init-from").
// Throws InputError naming the path: missing or not a regular file, not HDF5, truncated, corrupted.
H5::H5File open_hdf5_input(const std::string& path, std::string_view what);
// As open_hdf5_input, then refuses a file without gradest's root attributes or of another schema
// version (InputError, one line, naming the path).
H5::H5File open_gradest_file(const std::string& path, std::string_view what = "gradest file");
// As open_gradest_file, then refuses a file without runs (x2, toy, toy-bernoulli files) naming the
// commands whose files hold runs.
H5::H5File open_run_file(const std::string& path, std::string_view what = "gradest file");

// The HDF5 files this process opened through here or as an OutputFile, for the last-resort message
// of an HDF5 failure that no reader named ("HDF5 error ... in 'a.h5', 'b.h5'").
void note_opened(const std::string& path);
std::string opened_files_text();

// The file a location belongs to (without the ".partial-<pid>" of an output being written) and the
// absolute HDF5 path of a location, or of `child` below it.
std::string file_name(const H5::H5Location& location);
std::string object_path(const H5::H5Location& location, const std::string& child = "");
// "'<file>': cannot <verb> <kind> <path>: <reason>", the one-line form of every HDF5 failure.
std::string failure(const H5::H5Location& location, std::string_view verb, std::string_view kind,
                    const std::string& child, std::string_view reason);

// Named opens: InputError naming the file and path when the object is missing or unreadable.
bool exists(const H5::Group& group, const std::string& path);
H5::Group open_group(const H5::Group& group, const std::string& path);
H5::DataSet open_dataset(const H5::Group& group, const std::string& path);
// Members of a group (name, type), at most `kMaxMembers`.
inline constexpr hsize_t kMaxMembers = 1u << 20;
std::vector<std::pair<std::string, H5O_type_t>> members(const H5::Group& group);
// The names of an object's attributes, at most `kMaxMembers`.
std::vector<std::string> attribute_names(const H5::H5Object& object);

// The number of values of a dataset or attribute, refused (InputError) if the values would take
// more than kMaxReadBytes as stored or as `converted_bytes`-byte values.
hsize_t checked_points(const H5::DataSet& dataset, std::size_t converted_bytes);
hsize_t checked_points(const H5::Attribute& attribute, std::size_t converted_bytes);

bool exists_attribute(const H5::H5Object& object, const std::string& name);
std::string read_string_attribute(const H5::H5Object& object, const std::string& name);
// An attribute as text: a string as it is, a one-value integer or real printed ("3", "0.001");
// empty for anything else.
std::string read_attribute_text(const H5::H5Object& object, const std::string& name);
// A scalar (one-value) integer or real attribute; InputError if missing, not one value or not a number.
std::int64_t read_int_attribute(const H5::H5Object& object, const std::string& name);
double read_real_attribute(const H5::H5Object& object, const std::string& name);

// The stored bytes of a dataset or attribute (a string attribute as its characters), for equality
// tests; InputError for variable-length data (only string attributes are compared).
std::vector<char> read_raw(const H5::DataSet& dataset);
std::vector<char> read_raw_attribute(const H5::H5Object& object, const std::string& name);

std::vector<double> read_vector(const H5::Group& group, const std::string& name);
std::vector<std::int64_t> read_int_vector(const H5::Group& group, const std::string& name);
MatrixD read_matrix(const H5::Group& group, const std::string& name);

}  // namespace gradest::h5
