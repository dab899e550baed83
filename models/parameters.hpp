#pragma once
// All of a model's parameters in one flat vector, with named groups as contiguous ranges of it.
//
// Optimisers, gradient checks and variance probes walk every parameter the same way: a model's
// gradient is a Vector with exactly the layout of Parameters::values(), and a group ("encoder",
// "decoder", "prior", "baseline") is the range [offset, offset + size) of both.
//
// Groups are appended in the order they are first added; adding to the LAST group extends it
// (a network's layers, then the decoder's learned log-sigma, all under "decoder"); adding to an
// earlier group throws std::logic_error (groups stay contiguous).
//
// Views: layers do not keep Eigen::Map objects across calls. They keep offsets and build maps
// from values().data() when they run (building a Map is free), so a reallocation of the vector
// while a model is being assembled cannot leave a dangling view. Models size the vector once, at
// construction; later code must not resize it (assigning a vector of the same size is fine).
#include <string>
#include <string_view>
#include <vector>

#include "models/types.hpp"

namespace gradest {

struct ParameterGroup {
  std::string name;
  Index offset = 0, size = 0;
};

class Parameters {
 public:
  // Appends `size` zero-initialised parameters to `group` (creating it, or extending it if it is
  // the last group) and returns the offset of the new range.
  Index add(const std::string& group, Index size);

  Vector& values() { return values_; }
  const Vector& values() const { return values_; }
  Index size() const { return values_.size(); }
  const std::vector<ParameterGroup>& groups() const { return groups_; }
  // nullptr if there is no such group.
  const ParameterGroup* find(std::string_view group) const;

  // Views into values(), valid until the vector is resized.
  VectorMap view(Index offset, Index size);
  ConstVectorMap view(Index offset, Index size) const;
  // Column-major rows x cols block starting at offset.
  MatrixMap matrix(Index offset, Index rows, Index cols);
  ConstMatrixMap matrix(Index offset, Index rows, Index cols) const;
  // The whole range of a group (throws std::out_of_range if absent).
  VectorMap group(std::string_view name);

 private:
  Vector values_;
  std::vector<ParameterGroup> groups_;
};

}  // namespace gradest
