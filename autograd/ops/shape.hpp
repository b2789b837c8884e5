// Ops that move or select elements: reshape, transpose, slice, concat, split, select by mask.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.hpp"

namespace tapegrad {

Tensor reshape(const Tensor& x, const std::vector<std::int64_t>& shape);  // one -1 is inferred
Tensor reshape_to(const Tensor& x, const Shape& shape);                   // the same with a Shape
Tensor transpose(const Tensor& x, std::int64_t axis0, std::int64_t axis1);
Tensor permute(const Tensor& x, const std::vector<std::int64_t>& axes);
Tensor slice(const Tensor& x, std::int64_t axis, std::int64_t start, std::int64_t stop);  // [start, stop)
Tensor concat(const std::vector<Tensor>& xs, std::int64_t axis);
std::vector<Tensor> split(const Tensor& x, const std::vector<std::int64_t>& sizes, std::int64_t axis);
Tensor broadcast_to(const Tensor& x, const Shape& shape);
// cond (b8) ? a : b, all three broadcast together.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// x with `value` wherever mask (b8, broadcast to x) is 1, as torch.masked_fill.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

}  // namespace tapegrad
