#include "core/kernels/softmax.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

// GCC 12 flags the deliberately undefined registers inside its own AVX-512 intrinsics, which
// xsimd's exp inlines here; the warning is a known false positive (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <xsimd/xsimd.hpp>

#include "core/kernels/parallel.hpp"

namespace tapegrad::kernels {
namespace {

// Keras' stand-in for −inf on masked scores: large enough that exp underflows to 0 next to any
// kept score, finite so that a fully masked row stays defined (uniform).
constexpr double masked_score = -1e9;

// Calls f(r) for every row, across threads when the whole tensor is large.
template <class F>
void for_rows(std::int64_t rows, std::int64_t n, F f) {
    parallel_for(rows, rows * n, f);
}

template <class T>
T dot(const T* a, const T* b, std::int64_t n) {
    T s = 0;
#pragma omp simd reduction(+ : s)
    for (std::int64_t j = 0; j < n; ++j) s += a[j] * b[j];
    return s;
}

// dx = y ⊙ (dy − Σ dy⊙y), or dx = dy − exp(y)·Σ dy when y is a log-softmax; dx may equal y.
template <class T>
void row_backward(const T* y, const T* dy, T* dx, std::int64_t n, bool log) {
    if (log) {
        T s = 0;
#pragma omp simd reduction(+ : s)
        for (std::int64_t j = 0; j < n; ++j) s += dy[j];
        SoftmaxRow<T>::exp_sum(y, dx, n, T(0));
        for (std::int64_t j = 0; j < n; ++j) dx[j] = dy[j] - dx[j] * s;
        return;
    }
    const T s = dot(dy, y, n);
    for (std::int64_t j = 0; j < n; ++j) dx[j] = y[j] * (dy[j] - s);
}

// in [outer, a, b] -> out [outer, b, a]: moves a middle axis last so softmax runs over rows.
template <class T>
void swap_axes(const T* in, T* out, std::int64_t outer, std::int64_t a, std::int64_t b) {
    parallel_for(outer, outer * a * b, [&](std::int64_t o) {
        for (std::int64_t i = 0; i < a; ++i)
            for (std::int64_t j = 0; j < b; ++j) out[(o * b + j) * a + i] = in[(o * a + i) * b + j];
    });
}

// Whether key j of one scores row is kept.
struct RowKeep {
    const std::uint8_t* mask;
    std::int64_t step;  // 0 when the mask's key axis is broadcast (or there is no mask)
    std::int64_t last;  // the last key a causal query may see
    bool operator()(std::int64_t j) const { return j <= last && mask[j * step] != 0; }
    // Without a padding mask the kept keys are the first n of the tk: all, or up to the diagonal.
    std::int64_t prefix(std::int64_t tk) const { return std::clamp<std::int64_t>(last + 1, 0, tk); }
};

RowKeep row_keep(const KeepMask& keep, std::int64_t r) {
    static constexpr std::uint8_t all = 1;
    const std::uint8_t* m = keep.row(r);
    return {m ? m : &all, m ? keep.key_stride : 0, keep.causal ? keep.query(r) : keep.tk - 1};
}

}  // namespace

AxisLayout axis_layout(const Shape& shape, std::size_t axis) {
    AxisLayout l;
    for (std::size_t i = 0; i < shape.rank(); ++i) {
        if (i < axis) l.outer *= shape[i];
        if (i > axis) l.inner *= shape[i];
    }
    l.n = shape[axis];
    return l;
}

template <class T>
T SoftmaxRow<T>::max(const T* x, std::int64_t n) {
    T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
    for (std::int64_t j = 0; j < n; ++j) m = x[j] > m ? x[j] : m;
    return m;
}

template <class T>
T SoftmaxRow<T>::exp_sum(const T* x, T* y, std::int64_t n, T shift) {
    using Batch = xsimd::batch<T>;
    constexpr auto width = static_cast<std::int64_t>(Batch::size);
    const Batch s(shift);
    Batch acc(T(0));
    std::int64_t j = 0;
    for (; j + width <= n; j += width) {
        const Batch e = xsimd::exp(xsimd::load_unaligned(x + j) - s);
        if (y) e.store_unaligned(y + j);
        acc += e;
    }
    if (j < n) {  // the last, partial batch, padded with −inf (whose exp adds 0): rows shorter
        // than a batch, as a toy model's attention rows are, would otherwise be all scalar expf
        alignas(64) T tail[width];
        std::fill(std::begin(tail), std::end(tail), -std::numeric_limits<T>::infinity());
        std::copy(x + j, x + n, tail);
        const Batch e = xsimd::exp(Batch::load_aligned(tail) - s);
        e.store_aligned(tail);
        if (y) std::copy(tail, tail + (n - j), y + j);
        acc += e;
    }
    return xsimd::hadd(acc);
}

template <class T>
T SoftmaxRow<T>::log_sum_exp(const T* x, std::int64_t n) {
    const T m = max(x, n);
    return m + std::log(exp_sum(x, nullptr, n, m));
}

// Subtracting the row max first keeps every exp in (0, 1], so no input overflows.
template <class T>
void SoftmaxRow<T>::forward(const T* x, T* y, std::int64_t n, bool log) {
    const T m = max(x, n);
    if (log) {
        const T lse = m + std::log(exp_sum(x, nullptr, n, m));
#pragma omp simd
        for (std::int64_t j = 0; j < n; ++j) y[j] = x[j] - lse;
        return;
    }
    softmax_with_max(x, y, n, m);
}

template <class T>
void SoftmaxRow<T>::softmax_with_max(const T* x, T* y, std::int64_t n, T m) {
    const T inv = T(1) / exp_sum(x, y, n, m);
#pragma omp simd
    for (std::int64_t j = 0; j < n; ++j) y[j] *= inv;
}

// The last axis runs over contiguous rows; any other axis is first moved last (one copy each way).
// Hand-written: the same softmax as xtensor expressions (max, exp and sum reducers over the last
// axis of [8192,128], each evaluated) took 32 ns per element against 0.44
// (bench/xtensor_bench.cpp).
template <class T>
void Softmax<T>::forward(const T* x, T* y, AxisLayout l, bool log) {
    const std::int64_t rows = l.outer * l.inner;
    if (l.inner == 1) {
        for_rows(rows, l.n, [&](std::int64_t r) {
            SoftmaxRow<T>::forward(x + r * l.n, y + r * l.n, l.n, log);
        });
        return;
    }
    std::vector<T> t(static_cast<std::size_t>(rows * l.n));
    swap_axes(x, t.data(), l.outer, l.n, l.inner);
    for_rows(rows, l.n,
             [&](std::int64_t r) { SoftmaxRow<T>::forward(&t[r * l.n], &t[r * l.n], l.n, log); });
    swap_axes(t.data(), y, l.outer, l.inner, l.n);
}

template <class T>
void Softmax<T>::backward(const T* y, const T* dy, T* dx, AxisLayout l, bool log) {
    const std::int64_t rows = l.outer * l.inner;
    if (l.inner == 1) {
        for_rows(rows, l.n, [&](std::int64_t r) {
            const std::int64_t o = r * l.n;
            row_backward(y + o, dy + o, dx + o, l.n, log);
        });
        return;
    }
    std::vector<T> ty(static_cast<std::size_t>(rows * l.n)), tdy(ty.size());
    swap_axes(y, ty.data(), l.outer, l.n, l.inner);
    swap_axes(dy, tdy.data(), l.outer, l.n, l.inner);
    for_rows(rows, l.n, [&](std::int64_t r) {
        const std::int64_t o = r * l.n;
        row_backward(&ty[o], &tdy[o], &ty[o], l.n, log);
    });
    swap_axes(ty.data(), dx, l.outer, l.inner, l.n);
}

const std::uint8_t* KeepMask::row(std::int64_t r) const {
    if (!data) return nullptr;
    std::int64_t offset = 0;
    for (std::size_t axis = lead.rank(); axis-- > 0;) {
        offset += (r % lead[axis]) * strides[axis];
        r /= lead[axis];
    }
    return data + offset;
}

KeepMask keep_mask(const Shape& scores, const std::uint8_t* mask, const Shape& mask_shape,
                   bool causal) {
    KeepMask k;
    k.data = mask;
    k.causal = causal;
    k.tk = scores.back();
    for (std::size_t a = 0; a + 1 < scores.rank(); ++a) k.lead.push_back(scores[a]);
    if (!mask) return k;
    // Align the mask's axes with the scores' from the right; a size-1 axis repeats (step 0).
    const auto own = mask_shape.strides();
    const std::size_t shift = scores.rank() - mask_shape.rank();
    for (std::size_t i = 0; i < mask_shape.rank(); ++i) {
        const std::int64_t step = mask_shape[i] == 1 ? 0 : own[i];
        if (i + shift + 1 == scores.rank())
            k.key_stride = step;
        else
            k.strides[i + shift] = step;
    }
    return k;
}

template <class T>
void MaskedSoftmax<T>::forward(const T* scores, T* y, const KeepMask& keep, T scale) {
    const std::int64_t tk = keep.tk;
    for_rows(keep.lead.numel(), tk, [&](std::int64_t r) {
        const RowKeep kept = row_keep(keep, r);
        const T* s = scores + r * tk;
        T* yr = y + r * tk;
        // Without a padding mask the kept keys are the first n (all, or up to the causal diagonal),
        // and the rest would come out exactly 0: softmax over the n alone, half the work of a
        // causal row, with the same sum lane by lane (SIMD lanes hold key j mod width either way).
        // (y may be the scores themselves: each loop reads s[j] before it writes y[j].)
        if (keep.data) {
            for (std::int64_t j = 0; j < tk; ++j) yr[j] = kept(j) ? scale * s[j] : T(masked_score);
        } else {
            const std::int64_t n = kept.prefix(tk);
            T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
            for (std::int64_t j = 0; j < n; ++j) {
                yr[j] = scale * s[j];
                m = yr[j] > m ? yr[j] : m;
            }
            if (n > 0 && m >= T(masked_score)) {
                SoftmaxRow<T>::softmax_with_max(yr, yr, n, m);
                std::fill(yr + n, yr + tk, T(0));
                return;
            }
            std::fill(yr + n, yr + tk, T(masked_score));  // kept scores below −1e9: the whole row
        }
        SoftmaxRow<T>::forward(yr, yr, tk, false);
    });
}

// Masked scores are constants, so their gradient is 0 even in a fully masked (uniform) row.
template <class T>
void MaskedSoftmax<T>::backward(const T* y, const T* dy, T* dscores, const KeepMask& keep,
                                T scale) {
    const std::int64_t tk = keep.tk;
    for_rows(keep.lead.numel(), tk, [&](std::int64_t r) {
        const RowKeep kept = row_keep(keep, r);
        const std::int64_t o = r * tk;
        const T s = dot(dy + o, y + o, tk);
        if (!keep.data) {  // the kept keys are the first n, as in forward
            const std::int64_t n = kept.prefix(tk);
#pragma omp simd
            for (std::int64_t j = 0; j < n; ++j)
                dscores[o + j] = scale * y[o + j] * (dy[o + j] - s);
            std::fill(dscores + o + n, dscores + o + tk, T(0));
            return;
        }
        for (std::int64_t j = 0; j < tk; ++j)
            dscores[o + j] = kept(j) ? scale * y[o + j] * (dy[o + j] - s) : T(0);
    });
}

template struct SoftmaxRow<float>;
template struct SoftmaxRow<double>;
template struct Softmax<float>;
template struct Softmax<double>;
template struct MaskedSoftmax<float>;
template struct MaskedSoftmax<double>;

}  // namespace tapegrad::kernels
