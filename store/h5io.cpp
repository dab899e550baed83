#include "store/h5io.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>
#include <cerrno>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <streambuf>

#include "core/errors.hpp"
#include "core/files.hpp"
#include "core/text.hpp"
#include "gradest_version.hpp"

namespace gradest::h5 {

namespace fs = std::filesystem;

bool g_unclosable_file = false;
bool unclosable_file() { return g_unclosable_file; }

void check_output_path(const std::string& path, bool overwrite) {
  if (path.empty()) throw InputError("output path is empty; give a file name such as results/run.h5");
  std::error_code ec;
  const fs::path p(path);
  if (fs::exists(p, ec)) {
    if (fs::is_directory(p, ec)) throw InputError(fmt::format("output path '{}' is a directory; give a file name", path));
    if (!fs::is_regular_file(p, ec))
      throw InputError(fmt::format("output '{}' exists and is not a regular file (a device, FIFO or socket); "
                                   "gradest replaces regular files only, with --force",
                                   path));
    if (files::is_input(path))
      throw InputError(fmt::format("output '{}' is an input of this command; write to another file", path));
    if (!overwrite) throw InputError(fmt::format("output file '{}' exists; pass --force to overwrite it", path));
  }
  fs::path dir = p.parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, ec))
    throw InputError(fmt::format("cannot write '{}': directory '{}' does not exist", path, dir.string()));
  if (::access(dir.c_str(), W_OK) != 0)
    throw InputError(fmt::format("cannot write '{}': directory '{}' is not writable", path, dir.string()));
}

OutputFile::OutputFile(std::string path, bool overwrite, const RunMetadata& metadata, Staging staging)
    : path_(std::move(path)), partial_(fmt::format("{}.partial-{}", path_, ::getpid())), overwrite_(overwrite),
      staging_(staging) {
  check_output_path(path_, overwrite);
  files::remove_stale_partials(path_);
  files::register_partial(partial_);
  note_opened(path_);
  try {
    if (staging_ == Staging::memory) {
      H5::FileAccPropList in_memory;
      in_memory.setCore(std::size_t(1) << 20, /*backing_store=*/false);
      file_ = std::make_unique<H5::H5File>(partial_, H5F_ACC_TRUNC, H5::FileCreatPropList::DEFAULT, in_memory);
    } else {
      file_ = std::make_unique<H5::H5File>(partial_, H5F_ACC_TRUNC);
    }
  } catch (const H5::Exception&) {
    files::unregister_partial(partial_);
    throw InputError(fmt::format("cannot create '{}'", partial_));
  }
  H5::Group root = file_->openGroup("/");
  write_attribute(root, "gradest_version", std::string(kVersion));
  write_attribute(root, "git_commit", std::string(kGitCommit));
  write_attribute(root, "schema_version", kSchemaVersion);
  write_attribute(root, "command_line", metadata.command_line);
  write_attribute(root, "seed", static_cast<std::int64_t>(metadata.seed));
  write_attribute(root, "config", metadata.config);
  write_attribute(root, "date_utc", utc_now());
}

OutputFile::~OutputFile() {
  if (committed_ || !file_) return;
  abandon();
}

void OutputFile::abandon() {
  // HDF5 crashes closing a file whose data could not be written (disk full); flush first and, if
  // that fails, leave the handle to the process's exit. Either way the partial file goes.
  if (file_ && H5Fflush(file_->getId(), H5F_SCOPE_GLOBAL) >= 0) {
    try {
      file_->close();
    } catch (...) {
    }
    file_.reset();
  } else if (file_) {
    // Deliberately leaked: destroying the handle would make HDF5 close it and crash.
    g_unclosable_file = true;
    (void)file_.release();
  }
  std::remove(partial_.c_str());
  files::unregister_partial(partial_);
}

void OutputFile::write_image() {
  const ssize_t size = H5Fget_file_image(file_->getId(), nullptr, 0);
  std::vector<char> image(size > 0 ? std::size_t(size) : 0);
  if (size <= 0 || H5Fget_file_image(file_->getId(), image.data(), image.size()) != size)
    throw std::runtime_error(fmt::format("cannot write '{}': HDF5 gave no file image", path_));
  file_->close();
  file_.reset();
  std::FILE* out = std::fopen(partial_.c_str(), "wb");
  bool ok = out != nullptr && std::fwrite(image.data(), 1, image.size(), out) == image.size();
  ok = out != nullptr && std::fflush(out) == 0 && ::fsync(::fileno(out)) == 0 && ok;
  const int error = errno;
  if (out != nullptr) ok = std::fclose(out) == 0 && ok;
  if (!ok) {
    std::remove(partial_.c_str());
    files::unregister_partial(partial_);
    throw std::runtime_error(fmt::format("cannot write '{}' ({} bytes): {} (disk full or file size limit?); nothing was "
                                         "written",
                                         path_, image.size(), std::strerror(error)));
  }
}

void OutputFile::commit() {
  if (H5Fflush(file_->getId(), H5F_SCOPE_GLOBAL) < 0) {
    abandon();
    throw std::runtime_error(fmt::format("cannot write '{}' (disk full or file size limit?); nothing was written", path_));
  }
  if (staging_ == Staging::memory) {
    write_image();
  } else {
    file_->close();
    file_.reset();
  }
  // The output may have become an input (read after the output was opened) or appeared meanwhile.
  if (files::is_input(path_)) {
    std::remove(partial_.c_str());
    throw InputError(fmt::format("output '{}' is an input of this command; write to another file", path_));
  }
  std::error_code ec;
  if (overwrite_) {
    fs::rename(partial_, path_, ec);
  } else if (::link(partial_.c_str(), path_.c_str()) == 0) {  // create-exclusive: never replaces a file
    std::remove(partial_.c_str());
  } else if (errno == EEXIST) {
    const std::string kept = fmt::format("{}.unsaved-{}", path_, ::getpid());
    fs::rename(partial_, kept, ec);
    throw InputError(fmt::format("output file '{}' was created by another process while this one ran; this "
                                 "command's result is kept as '{}'",
                                 path_, ec ? partial_ : kept));
  } else {
    fs::rename(partial_, path_, ec);  // file systems without hard links
  }
  files::unregister_partial(partial_);
  if (ec) {
    std::remove(partial_.c_str());
    throw std::runtime_error(fmt::format("cannot rename '{}' to '{}': {}", partial_, path_, ec.message()));
  }
  committed_ = true;
}

namespace {
// Calls f; an HDF5 failure becomes std::runtime_error naming the file and the object written.
template <class F>
auto writing(const H5::H5Location& location, std::string_view kind, const std::string& child, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const H5::Exception& e) {
    throw std::runtime_error(failure(location, "write", kind, child,
                                     fmt::format("{} (disk full or file size limit?)", e.getDetailMsg())));
  }
}

void refuse_existing(const H5::Group& group, const std::string& name) {
  if (writing(group, "dataset", name, [&] { return group.nameExists(name); }))
    throw std::runtime_error(failure(group, "write", "dataset", name, "it was written already (a name used twice)"));
}

template <class T>
void write_array_impl(H5::Group& group, const std::string& name, const std::vector<hsize_t>& shape, const T* data,
                      const H5::PredType& type) {
  refuse_existing(group, name);
  writing(group, "dataset", name, [&] {
    H5::DataSpace space(static_cast<int>(shape.size()), shape.data());
    H5::DataSet ds = group.createDataSet(name, type, space);
    hsize_t n = 1;
    for (auto d : shape) n *= d;
    if (n > 0) ds.write(data, type);
  });
}

void write_scalar_attribute(H5::H5Object& object, const std::string& name, const H5::DataType& type, const void* value) {
  writing(object, "attribute", "@" + name, [&] {
    if (object.attrExists(name)) object.removeAttr(name);
    H5::Attribute attr = object.createAttribute(name, type, H5::DataSpace(H5S_SCALAR));
    attr.write(type, value);
  });
}
}  // namespace

H5::Group create_group(H5::Group& parent, const std::string& name) {
  if (writing(parent, "group", name, [&] { return parent.nameExists(name); }))
    throw std::runtime_error(failure(parent, "write", "group", name, "it was written already (a name used twice)"));
  return writing(parent, "group", name, [&] { return parent.createGroup(name); });
}

H5::Group ensure_group(H5::H5File& file, const std::string& path) {
  return writing(file, "group", path, [&] {
    H5::Group group = file.openGroup("/");
    std::string current;
    for (const auto& part : text::split(path, '/')) {
      if (part.empty()) continue;
      current += "/" + part;
      group = file.nameExists(current) ? file.openGroup(current) : file.createGroup(current);
    }
    return group;
  });
}

void write_attribute(H5::H5Object& object, const std::string& name, const std::string& value) {
  writing(object, "attribute", "@" + name, [&] {
    H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
    if (object.attrExists(name)) object.removeAttr(name);
    H5::Attribute attr = object.createAttribute(name, type, H5::DataSpace(H5S_SCALAR));
    attr.write(type, value);
  });
}

void write_attribute(H5::H5Object& object, const std::string& name, double value) {
  write_scalar_attribute(object, name, H5::PredType::NATIVE_DOUBLE, &value);
}

void write_attribute(H5::H5Object& object, const std::string& name, std::int64_t value) {
  write_scalar_attribute(object, name, H5::PredType::NATIVE_INT64, &value);
}

void write_vector(H5::Group& group, const std::string& name, const std::vector<double>& values) {
  write_array(group, name, {values.size()}, values.data());
}

void write_vector(H5::Group& group, const std::string& name, const std::vector<std::int64_t>& values) {
  write_array_impl(group, name, {values.size()}, values.data(), H5::PredType::NATIVE_INT64);
}

void write_matrix(H5::Group& group, const std::string& name, const MatrixD& values) {
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> row_major = values;
  write_array(group, name, {static_cast<hsize_t>(values.rows()), static_cast<hsize_t>(values.cols())}, row_major.data());
}

void write_array(H5::Group& group, const std::string& name, const std::vector<hsize_t>& shape, const float* data) {
  write_array_impl(group, name, shape, data, H5::PredType::NATIVE_FLOAT);
}
void write_array(H5::Group& group, const std::string& name, const std::vector<hsize_t>& shape, const double* data) {
  write_array_impl(group, name, shape, data, H5::PredType::NATIVE_DOUBLE);
}

void write_compressed_rows(H5::Group& group, const std::string& name, hsize_t rows, hsize_t cols, const float* data) {
  refuse_existing(group, name);
  writing(group, "dataset", name, [&] {
    hsize_t dims[2] = {rows, cols};
    H5::DataSpace space(2, dims);
    H5::DSetCreatPropList props;
    if (rows > 0 && cols > 0) {
      const hsize_t chunk_rows = std::clamp<hsize_t>((hsize_t(1) << 18) / cols, 1, rows);  // 2^18 floats = 1 MiB
      hsize_t chunk[2] = {chunk_rows, cols};
      props.setChunk(2, chunk);
      props.setShuffle();
      props.setDeflate(4);
    }
    H5::DataSet ds = group.createDataSet(name, H5::PredType::NATIVE_FLOAT, space, props);
    if (rows > 0 && cols > 0) ds.write(data, H5::PredType::NATIVE_FLOAT);
  });
}

Series::Series(H5::Group& group, const std::string& name) {
  refuse_existing(group, name);
  dataset_ = writing(group, "dataset", name, [&] {
    hsize_t dims[1] = {0}, max_dims[1] = {H5S_UNLIMITED}, chunk[1] = {256};
    H5::DataSpace space(1, dims, max_dims);
    H5::DSetCreatPropList props;
    props.setChunk(1, chunk);
    return group.createDataSet(name, H5::PredType::NATIVE_DOUBLE, space, props);
  });
}

void Series::append(double value) {
  writing(dataset_, "dataset", "", [&] {
    hsize_t new_size[1] = {size_ + 1};
    dataset_.extend(new_size);
    H5::DataSpace file_space = dataset_.getSpace();
    hsize_t offset[1] = {size_}, count[1] = {1};
    file_space.selectHyperslab(H5S_SELECT_SET, count, offset);
    H5::DataSpace mem_space(1, count);
    dataset_.write(&value, H5::PredType::NATIVE_DOUBLE, mem_space, file_space);
    size_ = new_size[0];
  });
}

namespace {
// Passes std::cerr through line by line, dropping HDF5's destructor failure lines.
class DestructorMessageFilter : public std::streambuf {
 public:
  explicit DestructorMessageFilter(std::streambuf* target) : target_(target) {}

 protected:
  int overflow(int c) override {
    if (c == traits_type::eof()) return traits_type::not_eof(c);
    line_ += static_cast<char>(c);
    if (c == '\n') emit();
    return c;
  }
  int sync() override {
    if (!line_.empty() && line_.back() == '\n') emit();
    return target_->pubsync();
  }

 private:
  void emit() {
    const auto sep = line_.find(" - ");
    const bool hdf5_destructor = sep != std::string::npos && line_.find("::~") != std::string::npos &&
                                 line_.find("::~") < sep;
    if (!hdf5_destructor) target_->sputn(line_.data(), static_cast<std::streamsize>(line_.size()));
    line_.clear();
  }
  std::streambuf* target_;
  std::string line_;
};
}  // namespace

void silence_hdf5_destructor_messages() {
  // Never destroyed: std::cerr is flushed by the runtime after static objects are destroyed.
  static auto* filter = new DestructorMessageFilter(std::cerr.rdbuf());
  std::cerr.rdbuf(filter);
  std::cerr.setf(std::ios::unitbuf);
}

std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace gradest::h5
