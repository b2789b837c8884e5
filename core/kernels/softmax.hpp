// Loops of softmax, log-softmax and the attention core (scale, mask, softmax), plus the row helpers
// that cross-entropy shares. Every exp over a row goes through SoftmaxRow's vectorised loop.
#pragma once

#include <array>
#include <cstdint>

#include "core/shape.hpp"

namespace tapegrad::kernels {

// A tensor seen as [outer, n, inner] around the axis of length n that softmax runs along.
struct AxisLayout {
    std::int64_t outer = 1, n = 1, inner = 1;
};
AxisLayout axis_layout(const Shape& shape, std::size_t axis);

// One contiguous row of length n.
template <class T>
struct SoftmaxRow {
    static T max(const T* x, std::int64_t n);
    // y = exp(x − shift) (y may equal x, or be null to only sum); returns Σ exp(x − shift).
    static T exp_sum(const T* x, T* y, std::int64_t n, T shift);
    // log Σ exp(x), stable for any finite x.
    static T log_sum_exp(const T* x, std::int64_t n);
    // y = softmax(x) or log_softmax(x); y may equal x.
    static void forward(const T* x, T* y, std::int64_t n, bool log);
    // y = softmax(x) for a row whose maximum m is known.
    static void softmax_with_max(const T* x, T* y, std::int64_t n, T m);
};

// forward: y = softmax(x) or log_softmax(x) along the layout's axis.
// backward: dx = y ⊙ (dy − Σ dy⊙y) for softmax, dx = dy − exp(y)·Σ dy for log-softmax.
template <class T>
struct Softmax {
    static void forward(const T* x, T* y, AxisLayout layout, bool log);
    static void backward(const T* y, const T* dy, T* dx, AxisLayout layout, bool log);
};

// Which positions of scores [..., Tq, Tk] the attention core keeps: a b8 mask broadcast to the
// scores (1 = keep), and with `causal` only keys j <= query i.
struct KeepMask {
    const std::uint8_t* data = nullptr;  // null: no padding mask
    Shape lead;                          // the scores' leading axes [..., Tq]; rows = lead.numel()
    std::array<std::int64_t, Shape::max_rank>
        strides{};                // mask step per leading axis, 0 = broadcast
    std::int64_t key_stride = 0;  // 1, or 0 when the mask's last axis is broadcast
    std::int64_t tk = 0;
    bool causal = false;

    // The mask's row for scores row r (null without a padding mask), and r's query index.
    const std::uint8_t* row(std::int64_t r) const;
    std::int64_t query(std::int64_t r) const { return lead.rank() == 0 ? 0 : r % lead.back(); }
};
// `mask` must already be known to broadcast to `scores` (both shapes are checked by the op).
KeepMask keep_mask(const Shape& scores, const std::uint8_t* mask, const Shape& mask_shape,
                   bool causal);

// forward: y = softmax(z) over the last axis, z = scale·scores where kept and −1e9 elsewhere (a
// fully masked row becomes uniform, as in Keras).
// backward: dscores = scale·y ⊙ (dy − Σ dy⊙y) where kept, 0 elsewhere.
template <class T>
struct MaskedSoftmax {
    static void forward(const T* scores, T* y, const KeepMask& keep, T scale);
    static void backward(const T* y, const T* dy, T* dscores, const KeepMask& keep, T scale);
};

}  // namespace tapegrad::kernels
