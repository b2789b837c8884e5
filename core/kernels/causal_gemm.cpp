#include "core/kernels/causal_gemm.hpp"

#include <algorithm>

#include "core/kernels/gemm.hpp"

namespace tapegrad::kernels {
namespace {

constexpr std::int64_t max_block = 64;

// dst[rows, cols] = src block (leading dimension ld) with entry (i, j) kept when
// first_col + j <= first_row + i, else 0: the masked corner of a diagonal block.
template <class T>
void copy_lower(const T* src, std::int64_t ld, std::int64_t rows, std::int64_t cols,
                std::int64_t first_row, std::int64_t first_col, T* dst) {
    for (std::int64_t i = 0; i < rows; ++i)
        for (std::int64_t j = 0; j < cols; ++j)
            dst[i * cols + j] = first_col + j <= first_row + i ? src[i * ld + j] : T(0);
}

}  // namespace

std::int64_t causal_block(std::int64_t t) {
    const std::int64_t quarter = (t + 3) / 4;
    return std::clamp<std::int64_t>((quarter + 15) / 16 * 16, 16, max_block);
}

// Row block [r0, r1) keeps keys [0, r1): one product, then the corner above the diagonal zeroed.
template <class T>
void CausalGemm<T>::lower_product(const T* q, const T* k, T* s, std::int64_t tq, std::int64_t tk,
                                  std::int64_t d, Leading ld) {
    const std::int64_t block = causal_block(tq);
    for (std::int64_t r0 = 0; r0 < tq; r0 += block) {
        const std::int64_t r1 = std::min(r0 + block, tq), kept = std::min(r1, tk);
        Gemm<T>::run(false, true, r1 - r0, kept, d, T(1), q + r0 * ld.a, ld.a, k, ld.b, T(0),
                     s + r0 * ld.c, ld.c);
        for (std::int64_t i = r0; i < r1; ++i)
            std::fill(s + i * ld.c + std::min(i + 1, tk), s + i * ld.c + tk, T(0));
    }
}

// Row block [r0, r1): keys [0, r0) are kept by every row (one product straight from w); keys
// [r0, r1) only below the diagonal (a masked copy of that corner, then a second product).
template <class T>
void CausalGemm<T>::lower_times(const T* w, const T* v, T* c, std::int64_t tq, std::int64_t tk,
                                std::int64_t d, Leading ld) {
    const std::int64_t block = causal_block(tq);
    T corner[max_block * max_block];
    for (std::int64_t r0 = 0; r0 < tq; r0 += block) {
        const std::int64_t r1 = std::min(r0 + block, tq), rows = r1 - r0;
        const std::int64_t full = std::min(r0, tk), partial = std::min(r1, tk) - full;
        Gemm<T>::run(false, false, rows, d, full, T(1), w + r0 * ld.a, ld.a, v, ld.b, T(0),
                     c + r0 * ld.c, ld.c);
        if (partial <= 0) continue;
        copy_lower(w + r0 * ld.a + full, ld.a, rows, partial, r0, full, corner);
        Gemm<T>::run(false, false, rows, d, partial, T(1), corner, partial, v + full * ld.b, ld.b,
                     T(1), c + r0 * ld.c, ld.c);
    }
}

// Column block [c0, c1) of w is kept by every query from c1 on (one product) and by queries
// [c0, c1) below the diagonal (the masked corner); queries before c0 keep none of it.
template <class T>
void CausalGemm<T>::lower_transposed_times(const T* w, const T* g, T* c, std::int64_t tq,
                                           std::int64_t tk, std::int64_t d, Leading ld) {
    const std::int64_t block = causal_block(tk);
    T corner[max_block * max_block];
    for (std::int64_t c0 = 0; c0 < tk; c0 += block) {
        const std::int64_t c1 = std::min(c0 + block, tk), cols = c1 - c0;
        const std::int64_t below = std::max<std::int64_t>(tq - c1, 0);
        Gemm<T>::run(true, false, cols, d, below, T(1), w + c1 * ld.a + c0, ld.a, g + c1 * ld.b,
                     ld.b, T(0), c + c0 * ld.c, ld.c);
        const std::int64_t rows = std::min(c1, tq) - c0;
        if (rows <= 0) continue;
        copy_lower(w + c0 * ld.a + c0, ld.a, rows, cols, c0, c0, corner);
        Gemm<T>::run(true, false, cols, d, rows, T(1), corner, cols, g + c0 * ld.b, ld.b, T(1),
                     c + c0 * ld.c, ld.c);
    }
}

template struct CausalGemm<float>;
template struct CausalGemm<double>;

}  // namespace tapegrad::kernels
