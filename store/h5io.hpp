#pragma once
// HDF5 output that explains itself and never leaves a half-written file under the final name.
//
// `OutputFile` refuses an existing path (unless overwrite is allowed) or an unwritable directory
// BEFORE any work starts, writes to "<path>.partial-<pid>" and renames it over the final path in
// commit(). A file never committed (error, exception, kill) leaves the final path untouched.
// Every file carries the root attributes of `RunMetadata`. A write that fails throws
// std::runtime_error naming the file and the object ("'x.h5': cannot write dataset /x2/n: ...").
#include <H5Cpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/types.hpp"
#include "store/h5read.hpp"  // the reading side: inputs, named reads

namespace gradest::h5 {

inline constexpr std::int64_t kSchemaVersion = 1;

struct RunMetadata {
  std::string command_line;
  std::uint64_t seed = 0;
  std::string config;  // the whole resolved configuration, "key = value" lines
};

// Throws InputError if `path` exists and !overwrite, or its directory cannot be written.
void check_output_path(const std::string& path, bool overwrite);

// Where an output is built before commit(): on disk as the partial file (written as it grows:
// training traces survive a crash), or in memory and written out whole by commit() (merges:
// libhdf5 1.10 crashes inside H5Ocopy when a write fails, so a full disk must meet gradest's own
// write, never HDF5's).
enum class Staging { disk, memory };

class OutputFile {
 public:
  OutputFile(std::string path, bool overwrite, const RunMetadata& metadata, Staging staging = Staging::disk);
  ~OutputFile();  // removes the partial file unless committed
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  H5::H5File& file() { return *file_; }
  // Flushes, closes and renames to the final path.
  void commit();

 private:
  void abandon();
  void write_image();  // Staging::memory: the in-memory file into the partial file
  std::string path_, partial_;
  bool overwrite_ = false;
  Staging staging_ = Staging::disk;
  // Held by pointer: after a failed close (disk full) HDF5 must not be asked to close it again.
  std::unique_ptr<H5::H5File> file_;
  bool committed_ = false;
};

// Creates the group `name` under parent; std::runtime_error naming the file and path if it exists.
H5::Group create_group(H5::Group& parent, const std::string& name);
// Creates (or opens) a group by absolute path, creating intermediate groups.
H5::Group ensure_group(H5::H5File& file, const std::string& path);

void write_attribute(H5::H5Object& object, const std::string& name, const std::string& value);
void write_attribute(H5::H5Object& object, const std::string& name, double value);
void write_attribute(H5::H5Object& object, const std::string& name, std::int64_t value);

void write_vector(H5::Group& group, const std::string& name, const std::vector<double>& values);
void write_vector(H5::Group& group, const std::string& name, const std::vector<std::int64_t>& values);
// Row-major rows x cols float64 dataset.
void write_matrix(H5::Group& group, const std::string& name, const MatrixD& values);
// A float32 or float64 array of any rank (shape), row-major data.
void write_array(H5::Group& group, const std::string& name, const std::vector<hsize_t>& shape, const float* data);
void write_array(H5::Group& group, const std::string& name, const std::vector<hsize_t>& shape, const double* data);

// A rows x cols float32 matrix (row-major data), chunked by whole rows (about 1 MiB a chunk) and
// deflate-compressed (level 4, with byte shuffling): raw gradient draws, read a row at a time.
void write_compressed_rows(H5::Group& group, const std::string& name, hsize_t rows, hsize_t cols, const float* data);

// A one-dimensional float64 dataset extended row by row (chunked, unlimited), for traces.
class Series {
 public:
  Series(H5::Group& group, const std::string& name);
  void append(double value);
  hsize_t size() const { return size_; }

 private:
  H5::DataSet dataset_;
  hsize_t size_ = 0;
};

// HDF5's C++ destructors print "X::~X - ... failed" to std::cerr when closing fails after an error
// gradest already reports in one line (a full disk, say). This drops those lines from std::cerr.
void silence_hdf5_destructor_messages();

// True after an output file could not be written and closed (disk full): the HDF5 library would
// crash closing it at exit, so main() ends the process with std::_Exit.
bool unclosable_file();

// Current UTC time as ISO 8601.
std::string utc_now();

}  // namespace gradest::h5
