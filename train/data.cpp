#include "train/data.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace tapegrad {

std::int64_t TokenData::batches_per_epoch(std::int64_t batch, std::int64_t length) const {
    if (batch <= 0 || length <= 0)
        throw ValueError(fmt::format("data: batch size {} and sequence length {} must be positive", batch, length));
    const std::int64_t per = (size() - 1) / (batch * length);
    if (per <= 0)
        throw ValueError(fmt::format("data: {} tokens are too few for one batch of {}×{} (needs at least {})", size(),
                                     batch, length, batch * length + 1));
    return per;
}

Batch TokenData::batch(std::int64_t step, std::int64_t batch, std::int64_t length) const {
    return rows(step, batch, length, 0, batch);
}

Batch TokenData::rows(std::int64_t step, std::int64_t batch, std::int64_t length, std::int64_t first,
                      std::int64_t count) const {
    const std::int64_t per = batches_per_epoch(batch, length);
    if (step < 0) throw ValueError(fmt::format("data: step {} is negative", step));
    if (first < 0 || count <= 0 || first + count > batch)
        throw ValueError(fmt::format("data: rows [{}, {}) are outside the batch of {}", first, first + count, batch));
    const std::int64_t offset = (step % per) * batch * length + first * length;
    Batch out{Tensor::empty({count, length}, i32), Tensor::empty({count, length}, i32)};
    const auto* src = tokens_.data() + offset;
    std::copy(src, src + count * length, out.x.data<std::int32_t>());
    std::copy(src + 1, src + 1 + count * length, out.y.data<std::int32_t>());
    return out;
}

std::pair<TokenData, TokenData> TokenData::split(double validation_fraction) const {
    if (!(validation_fraction >= 0.0 && validation_fraction < 1.0))
        throw ValueError(fmt::format("data: validation fraction {} must be in [0, 1)", validation_fraction));
    const auto cut = static_cast<std::ptrdiff_t>(static_cast<double>(size()) * (1.0 - validation_fraction));
    return {TokenData({tokens_.begin(), tokens_.begin() + cut}), TokenData({tokens_.begin() + cut, tokens_.end()})};
}

}  // namespace tapegrad
