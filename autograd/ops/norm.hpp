// Normalisation ops.
#pragma once

#include "core/tensor.hpp"

namespace tapegrad {

// Layer normalisation over the last axis of x [..., C], fused into one pass per row:
//   y = (x − mean)·rstd·weight + bias,  rstd = 1/√(var + eps), var biased (divides by C)
// weight [C] and bias [C] may be undefined (scale 1, shift 0), as Keras' scale/center = false.
// eps: 1e-5 in PyTorch and GPT-2; Keras' LayerNormalization uses 1e-3.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5);

}  // namespace tapegrad
