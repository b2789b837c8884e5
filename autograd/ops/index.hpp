// Lookup by integer ids.
#pragma once

#include "core/tensor.hpp"

namespace tapegrad {

// weight [V, C], ids i32 [...] -> [..., C]; ids outside [0, V) are a ValueError.
Tensor embedding(const Tensor& weight, const Tensor& ids);

}  // namespace tapegrad
