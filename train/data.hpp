// Token data with batches that are a pure function of the step: a resumed run, or another rank of
// a data-parallel run, sees exactly the batches an uninterrupted single process would. Two rules
// for batch B, length T and n tokens (x = the window, y = the window shifted by one token):
//   random (default, nanoGPT's): row b of step s starts at off(s, b), uniform in [0, n − T − 1],
//       the b-th draw of a generator keyed by (seed, s): every alignment of the text is seen, in a
//       new mixture every step, so the model cannot learn the order of a fixed set of batches.
//   sequential (llm.c's loader): step s reads B·T tokens from (s mod ⌊(n−1)/(B·T)⌋)·B·T, row b at
//       + b·T: non-overlapping windows in the same order every epoch. Validation uses this rule:
//       the same windows every time, the whole split in one epoch.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include "core/tensor.hpp"

namespace tapegrad {

struct Batch {
    Tensor x;  // i32 [B,T] inputs
    Tensor y;  // i32 [B,T] next-token targets

    // The examples in the batch: x's first axis (1 for a scalar x).
    std::int64_t rows() const { return x.rank() == 0 ? 1 : x.dim(0); }
};

// The scalar loss of one batch, with its graph: [&](const Batch& b) { return gpt.loss(b.x, b.y); }
using BatchLoss = std::function<Tensor(const Batch& batch)>;

enum class WindowSampling { random, sequential };

std::string_view to_string(WindowSampling sampling);
// "random" or "sequential"; ValueError naming the choices otherwise.
WindowSampling parse_window_sampling(std::string_view name);

struct WindowOptions {
    WindowSampling sampling = WindowSampling::random;
    std::uint64_t seed = 0;  // random windows: the run's seed (sequential ignores it)
};

class TokenData {
public:
    explicit TokenData(std::vector<std::int32_t> tokens) : tokens_(std::move(tokens)) {}

    std::int64_t size() const { return static_cast<std::int64_t>(tokens_.size()); }
    const std::vector<std::int32_t>& tokens() const { return tokens_; }
    // ⌊(n−1)/(B·T)⌋: the batches that cover the tokens once (for random windows, an epoch's worth
    // of tokens); ValueError when the data is too short for B·T.
    std::int64_t batches_per_epoch(std::int64_t batch, std::int64_t length) const;
    Batch batch(std::int64_t step, std::int64_t batch, std::int64_t length,
                const WindowOptions& options = {}) const;
    // Rows [first, first + rows) of step's batch: one rank's share in data-parallel training.
    Batch rows(std::int64_t step, std::int64_t batch, std::int64_t length, std::int64_t first,
               std::int64_t rows, const WindowOptions& options = {}) const;
    // Where each of rows [first, first + rows) of step's batch starts in tokens().
    std::vector<std::int64_t> window_starts(std::int64_t step, std::int64_t batch,
                                            std::int64_t length, std::int64_t first,
                                            std::int64_t rows, const WindowOptions& options) const;
    // The first (1 − fraction) of the tokens and the held-out rest (validation = the end).
    std::pair<TokenData, TokenData> split(double validation_fraction) const;

private:
    std::vector<std::int32_t> tokens_;
};

}  // namespace tapegrad
