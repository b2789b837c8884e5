// Numerically stable softmax and log-softmax along one axis.
#pragma once

#include <cstdint>

#include "core/tensor.hpp"

namespace tapegrad {

Tensor softmax(const Tensor& x, std::int64_t axis = -1);
Tensor log_softmax(const Tensor& x, std::int64_t axis = -1);

}  // namespace tapegrad
