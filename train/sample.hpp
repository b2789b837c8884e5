// Drawing the next token from a language model's logits.
#pragma once

#include <cstdint>

#include "core/random.hpp"
#include "core/tensor.hpp"

namespace tapegrad {

struct SamplingOptions {
    double temperature = 1.0;  // 0 = greedy (argmax)
    std::int64_t top_k = 0;    // keep the k most likely tokens; 0 = all
};

// logits: one row [V] (any float dtype). Softmax(logits / temperature) restricted to the top k.
std::int32_t sample_token(const Tensor& logits, const SamplingOptions& options, Generator& gen);

}  // namespace tapegrad
