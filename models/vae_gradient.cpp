#include "models/vae_gradient.hpp"

namespace gradest {

VaeGradientResult vae_gradient(Vae& vae, int slot, const Matrix& x, const NodeEstimate& estimate,
                               const std::optional<KlWeight>& kl, VaeGradientScratch& scratch) {
  vae.encode(slot, x, scratch.node);
  scratch.kl_computed_for.reset();  // a new node
  return vae_gradient_encoded(vae, slot, estimate, kl, scratch);
}

VaeGradientResult vae_gradient_encoded(Vae& vae, int slot, const NodeEstimate& estimate,
                                       const std::optional<KlWeight>& kl, VaeGradientScratch& scratch) {
  VaeGradientResult result;
  // Every range but the encoder's is zeroed here; the encoder's is written (not added to) by the
  // last call, encode_backward: nothing else writes it (estimators produce the node's gradient), so
  // a separate zeroing pass over it would be wasted.
  vae.zero_gradient_except_encoder();
  scratch.node_gradient.reset_like(scratch.node);
  estimate(scratch.node, scratch.node_gradient);
  if (kl) {
    const bool reuse = scratch.node_frozen && scratch.kl_computed_for &&
                       scratch.kl_computed_for->beta == kl->beta && scratch.kl_computed_for->free_bits == kl->free_bits;
    if (!reuse) {
      vae.kl(scratch.node, scratch.kl);
      scratch.kl_finite = all_finite(scratch.kl);
      scratch.kl_sum = scratch.kl.cast<double>().sum();
      scratch.kl_weights.setConstant(scratch.kl.rows(), scratch.kl.cols(), Real(kl->beta));
      if (kl->free_bits > 0) {
        for (Index j = 0; j < scratch.kl.cols(); ++j)
          if (scratch.kl.col(j).cast<double>().mean() < kl->free_bits) scratch.kl_weights.col(j).setZero();
      }
      scratch.kl_computed_for = *kl;
    }
    result.kl_finite = scratch.kl_finite;
    result.kl_sum = scratch.kl_sum;
    if (kl->beta > 0) vae.kl_backward(scratch.node, scratch.kl_weights, scratch.node_gradient);
  }
  vae.encode_backward(slot, scratch.node_gradient, Network::Accumulate::overwrite);
  return result;
}

}  // namespace gradest
