// Numerically stable softmax and log-softmax along one axis, and the fused attention core.
#pragma once

#include <cstdint>

#include "core/tensor.hpp"

namespace tapegrad {

Tensor softmax(const Tensor& x, std::int64_t axis = -1);
Tensor log_softmax(const Tensor& x, std::int64_t axis = -1);

// The attention core shared by every attention layer, over the last axis of scores [..., Tq, Tk]:
//   y = softmax(z),  z = scale·scores where kept, −1e9 where masked
// mask: b8, broadcastable to scores, 1 = keep (e.g. a padding mask [B,1,1,Tk] or [B,Tq,Tk]);
// undefined = no mask. causal: key j > query i is masked as well (top-left aligned when Tq ≠ Tk).
// A large negative rather than −inf, as Keras does, so a fully masked row is uniform, not NaN.
// Gradient: dscores = scale·y ⊙ (dy − Σ dy⊙y) at kept positions, 0 at masked ones; none to mask.
Tensor masked_softmax(const Tensor& scores, const Tensor& mask, double scale = 1.0,
                      bool causal = false);

}  // namespace tapegrad
