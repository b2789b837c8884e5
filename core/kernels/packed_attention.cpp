#include "core/kernels/packed_attention.hpp"

#include "core/kernels/causal_gemm.hpp"
#include "core/kernels/gemm.hpp"
#include "core/kernels/softmax.hpp"

namespace tapegrad::kernels {
namespace {

// Where head i = b·H + h reads and writes: q at `q` (k at q + C, v at q + 2C, rows 3C apart), its
// columns of y or dy at `y` (rows C apart), of dqkv like q, and its [T,T] matrix at `w`.
struct Head {
    std::int64_t q, y, w;
};

Head head(const PackedAttentionLayout& n, std::int64_t i) {
    const std::int64_t b = i / n.heads, h = i % n.heads, c = n.heads * n.head_size;
    const std::int64_t col = h * n.head_size;
    return {b * n.time * 3 * c + col, b * n.time * c + col, i * n.time * n.time};
}

// Runs product(head) for every head, side by side when they are small (run_products).
template <class Product>
void for_each_head(const PackedAttentionLayout& n, Product&& product) {
    const std::int64_t work = n.time * n.time * n.head_size / (n.causal_blocks ? 2 : 1);
    for_each_product(n.batch * n.heads, work, [&](std::int64_t i) { product(head(n, i)); });
}

KeepMask keep_all_or_causal(const PackedAttentionLayout& n) {
    return keep_mask({n.batch, n.heads, n.time, n.time}, nullptr, {}, n.causal);
}

}  // namespace

template <class T>
void PackedAttention<T>::weights(const T* qkv, T* w, const PackedAttentionLayout& n, T scale) {
    const std::int64_t t = n.time, d = n.head_size, c = n.heads * d;
    for_each_head(n, [&](Head at) {  // scores q·kᵀ
        const T* q = qkv + at.q;
        if (n.causal_blocks)
            CausalGemm<T>::lower_product(q, q + c, w + at.w, t, t, d, {3 * c, 3 * c, t});
        else
            Gemm<T>::run(false, true, t, t, d, T(1), q, 3 * c, q + c, 3 * c, T(0), w + at.w, t);
    });
    MaskedSoftmax<T>::forward(w, w, keep_all_or_causal(n), scale);
}

template <class T>
void PackedAttention<T>::mix(const T* used, const T* qkv, T* y, const PackedAttentionLayout& n) {
    const std::int64_t t = n.time, d = n.head_size, c = n.heads * d;
    for_each_head(n, [&](Head at) {
        const T* v = qkv + at.q + 2 * c;
        if (n.causal_blocks)
            CausalGemm<T>::lower_times(used + at.w, v, y + at.y, t, t, d, {t, 3 * c, c});
        else
            Gemm<T>::run(false, false, t, d, t, T(1), used + at.w, t, v, 3 * c, T(0), y + at.y, c);
    });
}

template <class T>
void PackedAttention<T>::values_grad(const T* qkv, const T* used, const T* dy, T* dused, T* dqkv,
                                     const PackedAttentionLayout& n) {
    const std::int64_t t = n.time, d = n.head_size, c = n.heads * d;
    using Causal = CausalGemm<T>;
    for_each_head(n, [&](Head at) {
        const T* v = qkv + at.q + 2 * c;
        T* dv = dqkv + at.q + 2 * c;
        if (n.causal_blocks) {
            Causal::lower_product(dy + at.y, v, dused + at.w, t, t, d, {c, 3 * c, t});
            Causal::lower_transposed_times(used + at.w, dy + at.y, dv, t, t, d, {t, c, 3 * c});
            return;
        }
        Gemm<T>::run(false, true, t, t, d, T(1), dy + at.y, c, v, 3 * c, T(0), dused + at.w, t);
        Gemm<T>::run(true, false, t, d, t, T(1), used + at.w, t, dy + at.y, c, T(0), dv, 3 * c);
    });
}

template <class T>
void PackedAttention<T>::scores_grad(const T* qkv, const T* w, T* dw, T* dqkv,
                                     const PackedAttentionLayout& n, T scale) {
    const std::int64_t t = n.time, d = n.head_size, c = n.heads * d;
    using Causal = CausalGemm<T>;
    MaskedSoftmax<T>::backward(w, dw, dw, keep_all_or_causal(n), scale);  // dS, in place
    for_each_head(n, [&](Head at) {
        const T* q = qkv + at.q;
        const T* ds = dw + at.w;
        if (n.causal_blocks) {
            Causal::lower_times(ds, q + c, dqkv + at.q, t, t, d, {t, 3 * c, 3 * c});
            Causal::lower_transposed_times(ds, q, dqkv + at.q + c, t, t, d, {t, 3 * c, 3 * c});
            return;
        }
        Gemm<T>::run(false, false, t, d, t, T(1), ds, t, q + c, 3 * c, T(0), dqkv + at.q, 3 * c);
        Gemm<T>::run(true, false, t, d, t, T(1), ds, t, q, 3 * c, T(0), dqkv + at.q + c, 3 * c);
    });
}

template struct PackedAttention<float>;
template struct PackedAttention<double>;

}  // namespace tapegrad::kernels
