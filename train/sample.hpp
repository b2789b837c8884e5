// Drawing the next token from a language model's logits.
#pragma once

#include <cstdint>
#include <span>

#include "core/random.hpp"
#include "core/tensor.hpp"

namespace tapegrad {

struct SamplingOptions {
    double temperature = 1.0;  // 0 = greedy (argmax)
    std::int64_t top_k = 0;    // keep the k most likely tokens; 0 = all
    // Nucleus sampling (Holtzman et al. 2019): keep the most likely tokens until their probability
    // (after temperature and top_k) adds up to top_p; 1 = all.
    double top_p = 1.0;
    // CTRL's penalty (Keskar et al. 2019) on tokens already in the history: a positive logit is
    // divided by it, a negative one multiplied; 1 = none.
    double repetition_penalty = 1.0;
};

// logits: one row [V] (any float dtype); history: the tokens so far, for repetition_penalty.
// Draws from softmax(logits / temperature) restricted to the top k, then to the top-p nucleus.
std::int32_t sample_token(const Tensor& logits, const SamplingOptions& options, Generator& gen,
                          std::span<const std::int32_t> history = {});

}  // namespace tapegrad
