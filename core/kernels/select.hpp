// Elementwise choice between two tensors by a b8 condition (where, masked_fill and their
// gradients).
#pragma once

#include "core/tensor.hpp"

namespace tapegrad::kernels {

// out = cond ? a : b, the three broadcast to out_shape (NumPy rules); cond is b8 (any nonzero byte
// is true), a and b share one floating dtype.
Tensor select(const Tensor& cond, const Tensor& a, const Tensor& b, const Shape& out_shape);

}  // namespace tapegrad::kernels
