// Elementwise loops over broadcast operands (NumPy rules), and the axis reductions that undo them.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.hpp"

namespace tapegrad::kernels {

enum class BinaryOp { add, sub, mul, div, pow, eq };  // eq gives 1 or 0

// a and b of one floating dtype, broadcast to out_shape.
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const Shape& out_shape);
// x repeated along broadcast axes to `shape` (any dtype).
Tensor expand(const Tensor& x, const Shape& shape);
// Sum / max over sorted, distinct axes; reduced axes kept as size 1.
Tensor sum_keepdims(const Tensor& x, const std::vector<std::size_t>& axes);
Tensor max_keepdims(const Tensor& x, const std::vector<std::size_t>& axes);
// Gradient of max: dy (keepdims shape) split evenly among the elements equal to their max.
Tensor max_backward(const Tensor& x, const Tensor& y, const Tensor& dy,
                    const std::vector<std::size_t>& axes);

}  // namespace tapegrad::kernels
