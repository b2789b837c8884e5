// A walk over the innermost rows of a shape with several operands read or written through their
// own strides (broadcast operands have stride 0). Included by kernel .cpp files only.
#pragma once

#include <array>
#include <cstdint>

#include "core/kernels/parallel.hpp"
#include "core/shape.hpp"

namespace tapegrad::kernels {

using Strides = std::array<std::int64_t, Shape::max_rank>;

// Strides of a row-major tensor of shape `in` read as if broadcast to `out`: 0 on axes that `in`
// repeats (size 1 or missing), aligned from the right.
inline Strides broadcast_strides(const Shape& in, const Shape& out) {
    const Strides own = in.strides();
    const std::size_t missing = out.rank() - in.rank();
    Strides s{};
    for (std::size_t axis = 0; axis < in.rank(); ++axis)
        s[missing + axis] = in[axis] == 1 ? 0 : own[axis];
    return s;
}

// Where row `r` of `shape` (all axes but the last) starts in each operand.
template <std::size_t N>
std::array<std::int64_t, N> row_start(std::int64_t r, const Shape& shape,
                                      const std::array<Strides, N>& strides) {
    std::array<std::int64_t, N> start{};
    for (std::size_t axis = shape.rank() - 1; axis-- > 0;) {
        const std::int64_t index = r % shape[axis];
        r /= shape[axis];
        for (std::size_t k = 0; k < N; ++k) start[k] += index * strides[k][axis];
    }
    return start;
}

// Calls row(start, n, step) once per innermost row of `shape`: operand k's row begins at
// start[k] and moves by step[k]. Rows run in parallel above parallel_threshold elements, so
// different rows must write different elements; reductions, whose rows share outputs, pass
// parallel = false.
template <std::size_t N, class Row>
void for_each_row(const Shape& shape, const std::array<Strides, N>& strides, Row&& row,
                  bool parallel = true) {
    if (shape.numel() == 0) return;
    if (shape.rank() == 0)
        return row(std::array<std::int64_t, N>{}, std::int64_t{1}, std::array<std::int64_t, N>{});
    const std::size_t last = shape.rank() - 1;
    const std::int64_t n = shape[last], rows = shape.numel() / n;
    std::array<std::int64_t, N> step{};
    for (std::size_t k = 0; k < N; ++k) step[k] = strides[k][last];
    const auto one_row = [&](std::int64_t r) { row(row_start<N>(r, shape, strides), n, step); };
    if (!parallel) {
        for (std::int64_t r = 0; r < rows; ++r) one_row(r);
        return;
    }
    parallel_for(rows, shape.numel(), one_row);
}

}  // namespace tapegrad::kernels
