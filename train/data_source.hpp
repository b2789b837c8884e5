// Where fit() and evaluate() get batches. A data source's batch for a step is a function of the
// step alone (and the source's fixed settings), never of what was drawn before: a run resumed at
// step s sees exactly the batches an uninterrupted run would, and validation sees the same batches
// every time. Write your own by deriving from DataSource (e.g. a toy task drawing batch s from a
// Generator seeded with s).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/tensor.hpp"
#include "train/data.hpp"

namespace tapegrad {

class DataSource {
public:
    virtual ~DataSource() = default;
    // Distinct batches of `batch_size` rows before the order starts over: one epoch. ValueError
    // when the data cannot make one batch.
    virtual std::int64_t batches_per_epoch(std::int64_t batch_size) const = 0;
    // The batch for `step` (>= 0); x and y have their rows along axis 0.
    virtual Batch batch(std::int64_t step, std::int64_t batch_size) const = 0;
    // Tokens in one row of x, for tokens/s; 0 when rows are not token sequences.
    virtual std::int64_t tokens_per_row() const { return 0; }
};

// Language-model batches of TokenData, `block_size` tokens a row, by train/data.hpp's rules:
// random windows keyed by (options.seed, step) by default, or sequential ones (llm.c's order, and
// what validation should use: the same windows every time, the whole split in one epoch).
// Keeps a reference: `data` must outlive the source.
class TokenSource : public DataSource {
public:
    TokenSource(const TokenData& data, std::int64_t block_size, WindowOptions options = {});
    std::int64_t batches_per_epoch(std::int64_t batch_size) const override;
    Batch batch(std::int64_t step, std::int64_t batch_size) const override;
    std::int64_t tokens_per_row() const override { return block_size_; }

private:
    const TokenData& data_;
    std::int64_t block_size_;
    WindowOptions opt_;
};

struct TensorDatasetOptions {
    bool shuffle = false;    // a new order every epoch, a seeded permutation
    std::uint64_t seed = 0;  // epoch e's order depends only on (seed, e)
};

// In-memory samples x [N,...] and y [N,...] (any dtypes), as torch's TensorDataset or Keras'
// fit(x, y). With N samples and batch size B an epoch has ⌈N/B⌉ batches: step s is batch
// i = s mod ⌈N/B⌉ of epoch e = ⌊s/⌈N/B⌉⌋, the rows order_e[i·B, min((i+1)·B, N)), where order_e is
// 0..N−1, or with shuffle a permutation drawn from (seed, e). The last batch of an epoch may be
// short. The tensors are shared, not copied.
class TensorDataset : public DataSource {
public:
    TensorDataset(Tensor x, Tensor y, TensorDatasetOptions options = {});
    std::int64_t size() const { return x_.dim(0); }
    std::int64_t batches_per_epoch(std::int64_t batch_size) const override;
    Batch batch(std::int64_t step, std::int64_t batch_size) const override;
    // The sample order of an epoch (identity without shuffle).
    std::vector<std::int64_t> order(std::int64_t epoch) const;

private:
    Tensor x_, y_;
    TensorDatasetOptions opt_;
};

// Rows `rows` of t (along axis 0) copied into a new tensor, any dtype.
Tensor gather_rows(const Tensor& t, const std::vector<std::int64_t>& rows);

// Part `index` of `count` equal parts of a batch of B rows: rows [index·B/count,
// (index+1)·B/count) of x and y. ValueError "<who>'s batch of B rows does not divide among
// <count> <parts>" when count does not divide B (who: "data-parallel: step 3", parts: "ranks").
Batch batch_part(const Batch& batch, int index, int count, std::string_view who,
                 std::string_view parts);

}  // namespace tapegrad
