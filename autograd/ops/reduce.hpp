// Reductions over any set of axes (empty = all axes), optionally keeping reduced axes as size 1.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.hpp"

namespace tapegrad {

Tensor sum(const Tensor& x, const std::vector<std::int64_t>& axes = {}, bool keepdims = false);
Tensor mean(const Tensor& x, const std::vector<std::int64_t>& axes = {}, bool keepdims = false);
// Gradient is split evenly among tied maxima (as torch.amax).
Tensor max(const Tensor& x, const std::vector<std::int64_t>& axes = {}, bool keepdims = false);

}  // namespace tapegrad
