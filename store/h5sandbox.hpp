#pragma once
// Reading an untrusted HDF5 file without letting it crash gradest.
//
// libhdf5 (1.10, the Debian 12 library) trusts a file's metadata: a flipped bit in an object
// header, a B-tree node, a local or global heap can make it read past a buffer or follow a wild
// address and die with SIGSEGV or SIGABRT (an assertion) instead of returning an error. The files
// gradest writes use the default, 1.8-compatible format, whose metadata carries no checksums, so no
// property or check before opening rules this out. So the one input-opening place
// (store/h5read.hpp) first reads the whole file in a forked child: `sandboxed` runs a reader
// there and turns its outcome into the parent's: nothing (it read everything), the InputError it
// threw (naming the file and the object), or, if it crashed or hung, an InputError naming the
// file and the last object it reached. The parent then reads the same bytes along the same paths.
#include <H5Cpp.h>

#include <cstdint>
#include <functional>
#include <string>

namespace gradest::h5 {

// A sandboxed reader that reaches no new object for kSandboxStallSeconds plus one second per
// kSandboxBytesPerSecond of the file is killed (corrupted global heaps make libhdf5 1.10 loop forever).
inline constexpr int kSandboxStallSeconds = 5;
inline constexpr std::uintmax_t kSandboxBytesPerSecond = 50u << 20;

// Runs `read` in a forked child process (stdout and stderr closed). Throws InputError: the
// gradest::Error the child threw (its message), or "'<path>' is corrupted: the HDF5 library crashed
// reading <object> (<signal>)" / "... did not finish reading <object> within N s".
void sandboxed(const std::string& path, const std::function<void()>& read);
// Tells the parent which object the sandboxed reader reaches next (nothing outside a sandbox).
void reaching(const std::string& object);

// Reads every group, attribute and dataset of an open file with the conversions gradest's readers
// use (strings, int64, float64, the stored type) and copies its runs into a file in memory (as
// merge does), refusing sizes over kMaxReadBytes and groups nested over kMaxGroupDepth. Throws
// InputError naming the file and the object that failed, or H5::Exception (reported by `sandboxed`
// with the last object reached).
void read_everything(const H5::H5File& file);

}  // namespace gradest::h5
