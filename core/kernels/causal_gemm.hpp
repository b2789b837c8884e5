// Products under a causal mask, for one [Tq,Tk] matrix of attention scores or weights per call:
// key j of query i is kept when j <= i (top-left aligned, as Keras' use_causal_mask). Only the
// blocks the mask keeps are multiplied, which skips about half of attention's products on long
// sequences. Every product goes through Gemm. Each matrix is read or written with its own leading
// dimension (row stride), so operands may be heads inside a wider tensor (GPT's packed q/k/v).
#pragma once

#include <cstdint>

namespace tapegrad::kernels {

// The row strides of a kernel's first operand, second operand and result.
struct Leading {
    std::int64_t a, b, c;
};

template <class T>
struct CausalGemm {
    // s[Tq,Tk] = q[Tq,d] · k[Tk,d]ᵀ where j <= i, 0 above (the scores of causal attention).
    static void lower_product(const T* q, const T* k, T* s, std::int64_t tq, std::int64_t tk,
                              std::int64_t d, Leading ld);
    // c[Tq,d] = tril(w[Tq,Tk]) · v[Tk,d]: w's entries above the diagonal are read as 0.
    static void lower_times(const T* w, const T* v, T* c, std::int64_t tq, std::int64_t tk,
                            std::int64_t d, Leading ld);
    // c[Tk,d] = tril(w[Tq,Tk])ᵀ · g[Tq,d]: w's entries above the diagonal are read as 0.
    static void lower_transposed_times(const T* w, const T* g, T* c, std::int64_t tq,
                                       std::int64_t tk, std::int64_t d, Leading ld);
};

// The side of the square blocks a length-t axis is cut into: about a quarter of t, in multiples
// of 16 (OpenBLAS's sgemm tile height), from 16 to 64.
std::int64_t causal_block(std::int64_t t);

}  // namespace tapegrad::kernels
