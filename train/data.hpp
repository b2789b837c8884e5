// Token data with deterministic batches by step: a resumed run sees exactly the batches an
// uninterrupted one would. For batch B, length T and n tokens, step s reads from
//   off = (s mod ⌊(n−1)/(B·T)⌋)·B·T,  x[b,t] = tok[off + b·T + t],  y[b,t] = tok[off + b·T + t + 1].
#pragma once

#include <cstdint>
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

class TokenData {
public:
    explicit TokenData(std::vector<std::int32_t> tokens) : tokens_(std::move(tokens)) {}

    std::int64_t size() const { return static_cast<std::int64_t>(tokens_.size()); }
    const std::vector<std::int32_t>& tokens() const { return tokens_; }
    // Distinct batches before the sequence repeats; ValueError when the data is too short for B·T.
    std::int64_t batches_per_epoch(std::int64_t batch, std::int64_t length) const;
    Batch batch(std::int64_t step, std::int64_t batch, std::int64_t length) const;
    // Rows [first, first + rows) of step's batch: one rank's share in data-parallel training.
    Batch rows(std::int64_t step, std::int64_t batch, std::int64_t length, std::int64_t first, std::int64_t rows) const;
    // The first (1 − fraction) of the tokens and the held-out rest (validation = the end).
    std::pair<TokenData, TokenData> split(double validation_fraction) const;

private:
    std::vector<std::int32_t> tokens_;
};

}  // namespace tapegrad
