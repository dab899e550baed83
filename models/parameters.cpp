#include "models/parameters.hpp"

#include <stdexcept>

namespace gradest {

Index Parameters::add(const std::string& group, Index size) {
  if (size < 0) throw std::logic_error("Parameters::add: negative size for group '" + group + "'");
  const Index offset = values_.size();
  if (!groups_.empty() && groups_.back().name == group) {
    groups_.back().size += size;
  } else {
    if (find(group)) throw std::logic_error("Parameters::add: group '" + group + "' is not the last group");
    groups_.push_back({group, offset, size});
  }
  values_.conservativeResize(offset + size);
  values_.segment(offset, size).setZero();
  return offset;
}

const ParameterGroup* Parameters::find(std::string_view group) const {
  for (const auto& g : groups_)
    if (g.name == group) return &g;
  return nullptr;
}

VectorMap Parameters::view(Index offset, Index size) { return VectorMap(values_.data() + offset, size); }
ConstVectorMap Parameters::view(Index offset, Index size) const { return ConstVectorMap(values_.data() + offset, size); }
MatrixMap Parameters::matrix(Index offset, Index rows, Index cols) { return MatrixMap(values_.data() + offset, rows, cols); }
ConstMatrixMap Parameters::matrix(Index offset, Index rows, Index cols) const {
  return ConstMatrixMap(values_.data() + offset, rows, cols);
}

VectorMap Parameters::group(std::string_view name) {
  const ParameterGroup* g = find(name);
  if (!g) throw std::out_of_range("Parameters::group: no group '" + std::string(name) + "'");
  return view(g->offset, g->size);
}

}  // namespace gradest
