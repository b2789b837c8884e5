// Losses, fused with their softmax where that is both faster and more accurate.
#pragma once

#include <cstdint>

#include "core/tensor.hpp"

namespace tapegrad {

// logits [..., C], targets i32 [...]; mean of −log softmax(logits)[target] over targets that are
// not ignore_index. All targets ignored gives 0 (and zero gradients), not NaN.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, std::int32_t ignore_index = -100);
Tensor mse_loss(const Tensor& prediction, const Tensor& target);  // mean of squared differences

}  // namespace tapegrad
