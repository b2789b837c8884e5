// Autoregressive generation from a GPT: each new token is drawn from the model's next-token
// distribution given the tokens so far, cropped to its context.
#pragma once

#include <cstdint>
#include <vector>

#include "core/random.hpp"
#include "layers/gpt.hpp"
#include "train/sample.hpp"

namespace tapegrad {

struct GenerateOptions {
    // Keep each block's keys and values (Gpt::forward_cached) and feed one new token per step
    // while the text fits the context; past it, each step reads the last n_positions tokens
    // afresh, as without the cache. Same tokens either way; the cache is faster.
    bool kv_cache = true;
};

// `prompt` followed by `tokens` drawn ids. Runs in eval mode without a tape (dropout off), then
// restores the model's mode. ValueError on an empty prompt or an id outside the vocabulary.
std::vector<std::int32_t> generate_tokens(Gpt& model, std::vector<std::int32_t> prompt,
                                          std::int64_t tokens, const SamplingOptions& sampling,
                                          Generator& gen, const GenerateOptions& options = {});

}  // namespace tapegrad
