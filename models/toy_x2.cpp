#include "models/toy_x2.hpp"

#include <cassert>

namespace gradest {

void X2Objective::do_evaluate(int slot, const Matrix& z, Vector& value) {
  assert(slot >= 0 && slot < kSlots && z.rows() % batch_ == 0);
  z_[slot] = z;
  value = z.array().square().rowwise().sum();
}

void X2Objective::backward(int slot, const Vector& weight, Matrix* grad_z) {
  assert(slot >= 0 && slot < kSlots && weight.size() == z_[slot].rows());
  if (!grad_z) return;
  *grad_z = (Real(2) * z_[slot]).array().colwise() * weight.array();
}

}  // namespace gradest
