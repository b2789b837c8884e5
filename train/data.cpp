#include "train/data.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/random.hpp"

namespace tapegrad {
std::string_view to_string(WindowSampling sampling) {
    return sampling == WindowSampling::random ? "random" : "sequential";
}

WindowSampling parse_window_sampling(std::string_view name) {
    if (name == "random") return WindowSampling::random;
    if (name == "sequential") return WindowSampling::sequential;
    throw ValueError(
        fmt::format("sampling: \"{}\" is not a batch rule (random or sequential)", name));
}

std::int64_t TokenData::batches_per_epoch(std::int64_t batch, std::int64_t length) const {
    if (batch <= 0 || length <= 0)
        throw ValueError(fmt::format("data: batch size {} and sequence length {} must be positive",
                                     batch, length));
    const std::int64_t per = (size() - 1) / (batch * length);
    if (per <= 0)
        throw ValueError(
            fmt::format("data: {} tokens are too few for one batch of {}×{} (needs at least {})",
                        size(), batch, length, batch * length + 1));
    return per;
}

std::vector<std::int64_t> TokenData::window_starts(std::int64_t step, std::int64_t batch,
                                                   std::int64_t length, std::int64_t first,
                                                   std::int64_t count,
                                                   const WindowOptions& options) const {
    const std::int64_t per = batches_per_epoch(batch, length);
    if (step < 0) throw ValueError(fmt::format("data: step {} is negative", step));
    if (first < 0 || count <= 0 || first + count > batch)
        throw ValueError(fmt::format("data: rows [{}, {}) are outside the batch of {}", first,
                                     first + count, batch));
    std::vector<std::int64_t> starts(static_cast<std::size_t>(count));
    if (options.sampling == WindowSampling::sequential) {
        for (std::int64_t r = 0; r < count; ++r)
            starts[r] = (step % per) * batch * length + (first + r) * length;
        return starts;
    }
    Generator gen(stream_seed(options.seed, static_cast<std::uint64_t>(step)));
    const auto choices = static_cast<std::uint64_t>(size() - length);  // y needs off + T < n
    for (std::int64_t r = 0; r < first; ++r) gen.below(choices);       // the rows before ours
    for (std::int64_t& s : starts) s = static_cast<std::int64_t>(gen.below(choices));
    return starts;
}

Batch TokenData::batch(std::int64_t step, std::int64_t batch, std::int64_t length,
                       const WindowOptions& options) const {
    return rows(step, batch, length, 0, batch, options);
}

Batch TokenData::rows(std::int64_t step, std::int64_t batch, std::int64_t length,
                      std::int64_t first, std::int64_t count, const WindowOptions& options) const {
    const std::vector<std::int64_t> starts =
        window_starts(step, batch, length, first, count, options);
    Batch out{Tensor::empty({count, length}, i32), Tensor::empty({count, length}, i32)};
    auto* x = out.x.data<std::int32_t>();
    auto* y = out.y.data<std::int32_t>();
    for (std::int64_t r = 0; r < count; ++r) {
        const auto* src = tokens_.data() + starts[r];
        std::copy(src, src + length, x + r * length);
        std::copy(src + 1, src + 1 + length, y + r * length);
    }
    return out;
}

std::pair<TokenData, TokenData> TokenData::split(double validation_fraction) const {
    if (!(validation_fraction >= 0.0 && validation_fraction < 1.0))
        throw ValueError(
            fmt::format("data: validation fraction {} must be in [0, 1)", validation_fraction));
    const auto cut =
        static_cast<std::ptrdiff_t>(static_cast<double>(size()) * (1.0 - validation_fraction));
    return {TokenData({tokens_.begin(), tokens_.begin() + cut}),
            TokenData({tokens_.begin() + cut, tokens_.end()})};
}

}  // namespace tapegrad
