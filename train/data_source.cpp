#include "train/data_source.hpp"

#include <fmt/format.h>

#include <cstring>
#include <numeric>

#include "core/random.hpp"

namespace tapegrad {
namespace {

void expect_batch_size(std::string_view source, std::int64_t batch_size) {
    if (batch_size <= 0)
        throw ValueError(
            fmt::format("{}: batch size must be positive (got {})", source, batch_size));
}

}  // namespace

TokenSource::TokenSource(const TokenData& data, std::int64_t block_size, WindowOptions options)
    : data_(data), block_size_(block_size), opt_(options) {
    if (block_size <= 0)
        throw ValueError(
            fmt::format("TokenSource: block size must be positive (got {})", block_size));
}

std::int64_t TokenSource::batches_per_epoch(std::int64_t batch_size) const {
    return data_.batches_per_epoch(batch_size, block_size_);
}

Batch TokenSource::batch(std::int64_t step, std::int64_t batch_size) const {
    return data_.batch(step, batch_size, block_size_, opt_);
}

TensorDataset::TensorDataset(Tensor x, Tensor y, TensorDatasetOptions options)
    : x_(std::move(x)), y_(std::move(y)), opt_(options) {
    if (!x_.defined() || !y_.defined())
        throw ValueError("TensorDataset: x and y must be defined tensors");
    if (x_.rank() == 0 || y_.rank() == 0 || x_.dim(0) != y_.dim(0))
        throw_shape_error("TensorDataset", fmt::format("x {}, y {}", x_.shape(), y_.shape()),
                          fmt::format("sample counts along axis 0 differ ({} vs {})",
                                      x_.rank() ? x_.dim(0) : 0, y_.rank() ? y_.dim(0) : 0));
    if (x_.dim(0) == 0) throw ValueError("TensorDataset: there are no samples");
}

std::int64_t TensorDataset::batches_per_epoch(std::int64_t batch_size) const {
    expect_batch_size("TensorDataset", batch_size);
    return (size() + batch_size - 1) / batch_size;
}

std::vector<std::int64_t> TensorDataset::order(std::int64_t epoch) const {
    std::vector<std::int64_t> out(static_cast<std::size_t>(size()));
    std::iota(out.begin(), out.end(), 0);
    if (!opt_.shuffle) return out;
    Generator gen(stream_seed(opt_.seed, static_cast<std::uint64_t>(epoch)));
    for (std::size_t i = out.size() - 1; i > 0; --i)  // Fisher–Yates
        std::swap(out[i], out[gen.below(i + 1)]);
    return out;
}

Batch TensorDataset::batch(std::int64_t step, std::int64_t batch_size) const {
    if (step < 0) throw ValueError(fmt::format("TensorDataset: step {} is negative", step));
    const std::int64_t per = batches_per_epoch(batch_size);
    const std::vector<std::int64_t> all = order(step / per);
    const std::int64_t first = (step % per) * batch_size;
    const std::vector<std::int64_t> rows(all.begin() + first,
                                         all.begin() + std::min(first + batch_size, size()));
    return {gather_rows(x_, rows), gather_rows(y_, rows)};
}

Tensor gather_rows(const Tensor& t, const std::vector<std::int64_t>& rows) {
    std::vector<std::int64_t> dims(t.shape().begin(), t.shape().end());
    const std::size_t row_bytes =
        static_cast<std::size_t>(t.numel() / dims[0]) * dtype_size(t.dtype());
    dims[0] = static_cast<std::int64_t>(rows.size());
    Tensor out = Tensor::empty(Shape(dims), t.dtype());
    const auto* src = static_cast<const std::byte*>(t.raw_data());
    auto* dst = static_cast<std::byte*>(out.raw_data());
    for (std::size_t i = 0; i < rows.size(); ++i)
        std::memcpy(dst + i * row_bytes, src + static_cast<std::size_t>(rows[i]) * row_bytes,
                    row_bytes);
    return out;
}

Batch batch_part(const Batch& batch, int index, int count, std::string_view who,
                 std::string_view parts) {
    if (count == 1) return batch;
    const std::int64_t rows = batch.rows();
    if (rows % count != 0)
        throw ValueError(fmt::format("{}'s batch of {} rows does not divide among {} {}", who, rows,
                                     count, parts));
    std::vector<std::int64_t> mine(static_cast<std::size_t>(rows / count));
    std::iota(mine.begin(), mine.end(), index * (rows / count));
    return {gather_rows(batch.x, mine), gather_rows(batch.y, mine)};
}

}  // namespace tapegrad
