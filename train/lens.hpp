// Computes the logit lens (viz/lens.hpp) of a GPT reading a prompt: one recorded forward pass in
// eval mode without a tape, then each residual stream through ln_f and the tied head.
//   LogitLens lens = logit_lens(gpt, ids, [&](std::int32_t id) { return label(id); });
//   fmt::print("{}", lens_table(lens));
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "layers/gpt.hpp"
#include "viz/lens.hpp"

namespace tapegrad {

struct LensOptions {
    std::int64_t top_k = 5;  // guesses kept per read-out and position
};

// ids: the prompt's tokens (1 to n_positions); token_label(id) names a token in the tables. The
// model's training mode is restored.
LogitLens logit_lens(Gpt& model, const std::vector<std::int32_t>& ids,
                     const std::function<std::string(std::int32_t)>& token_label,
                     const LensOptions& options = {});

}  // namespace tapegrad
