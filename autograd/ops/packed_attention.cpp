// packed_self_attention: with W the softmax weights of head h, U = dropout(W) = W⊙M (M =
// keep/(1−p), U = W without dropout) and G = dy_h,
//   dU = G·v_hᵀ,  dW = dU⊙M,  dS = scale·W ⊙ (dW − Σ_keys dW⊙W),
//   dq_h = dS·k_h,  dk_h = dSᵀ·q_h,  dv_h = Uᵀ·G
// each written straight into its columns of dqkv.
#include "autograd/ops/packed_attention.hpp"

#include <fmt/format.h>

#include "autograd/ops/binary.hpp"
#include "autograd/ops/causal_matmul.hpp"
#include "autograd/ops/matmul.hpp"
#include "autograd/ops/reduce.hpp"
#include "autograd/ops/shape.hpp"
#include "autograd/ops/softmax.hpp"
#include "autograd/ops/unary.hpp"
#include "autograd/tape.hpp"
#include "core/kernels/dropout.hpp"
#include "core/kernels/packed_attention.hpp"

namespace tapegrad {
namespace {

constexpr const char* op_name = "packed_self_attention";

struct PackedAttrs {
    std::int64_t heads;
    double scale, dropout;
    bool causal;
};

// Checks qkv [B,T,3·heads·D] of a floating dtype, naming `op`, and gives its layout.
kernels::PackedAttentionLayout layout(const char* op, const Tensor& qkv, std::int64_t heads,
                                      bool causal) {
    const std::string operands = fmt::format("qkv {}, heads {}", qkv.shape(), heads);
    if (!is_floating(qkv.dtype()))
        throw ValueError(fmt::format("{}: {}: expected a floating dtype (got {})", op, operands,
                                     dtype_name(qkv.dtype())));
    if (heads < 1) throw_shape_error(op, operands, "heads must be positive");
    if (qkv.rank() != 3)
        throw_shape_error(op, operands, fmt::format("expected [B,T,3C] (got rank {})", qkv.rank()));
    if (qkv.dim(2) % (3 * heads) != 0)
        throw_shape_error(op, operands,
                          fmt::format("the last axis must split into q, k, v of {} heads ({} is "
                                      "not divisible by {})",
                                      heads, qkv.dim(2), 3 * heads));
    const std::int64_t t = qkv.dim(1);
    return {.batch = qkv.dim(0),
            .time = t,
            .heads = heads,
            .head_size = qkv.dim(2) / (3 * heads),
            .causal = causal,
            .causal_blocks = causal && causal_products_pay_off(t)};
}

// dq, dk, dv [B,H,T,D] -> dqkv [B,T,3C]: packed_heads backwards, recorded.
Tensor pack_heads(const Tensor& dq, const Tensor& dk, const Tensor& dv) {
    const std::int64_t b = dq.dim(0), h = dq.dim(1), t = dq.dim(2), d = dq.dim(3);
    const auto one = [&](const Tensor& x) { return reshape(x, {1, b, h, t, d}); };
    const Tensor stacked = concat({one(dq), one(dk), one(dv)}, 0);  // [3,B,H,T,D]
    return reshape(permute(stacked, {1, 3, 0, 2, 4}), {b, t, 3 * h * d});
}

// The same gradient from recorded ops on qkv and dy, for a sweep that creates a graph: the weights
// are recomputed from qkv, so second derivatives reach qkv through them too; the dropout mask,
// saved(1), is a constant.
void packed_backward_recorded(Backward& bw) {
    const PackedAttrs a = bw.attrs<PackedAttrs>();
    const auto [q, k, v] = packed_heads(bw.input(0), a.heads);
    const Tensor w = masked_softmax(matmul(q, k, false, true), Tensor(), a.scale, a.causal);
    const Tensor g = split_heads(bw.grad_out(), a.heads);
    Tensor used = w, dw = matmul(g, v, false, true);
    if (a.dropout > 0.0) {
        const Tensor zero = zeros({}, {.dtype = w.dtype()});
        const Tensor m =
            where(bw.saved(1), full({}, 1.0 / (1.0 - a.dropout), {.dtype = w.dtype()}), zero);
        used = mul(w, m), dw = mul(dw, m);
    }
    // masked weights are exactly 0, so the product with w already zeroes their gradient
    const Tensor ds = mul_scalar(mul(w, sub(dw, sum(mul(dw, w), {-1}, true))), a.scale);
    bw.accumulate(
        0, pack_heads(matmul(ds, k), matmul(ds, q, true, false), matmul(used, g, true, false)));
}

// dqkv from the saved weights: saved(0) w, and with dropout saved(1) the mask, saved(2) dropout(w).
void packed_backward(Backward& bw) {
    if (bw.create_graph()) return packed_backward_recorded(bw);
    const PackedAttrs a = bw.attrs<PackedAttrs>();
    const Tensor& qkv = bw.input(0);
    const Tensor& w = bw.saved(0);
    const bool dropped = a.dropout > 0.0;
    const Tensor& used = dropped ? bw.saved(2) : w;
    const kernels::PackedAttentionLayout n = layout(op_name, qkv, a.heads, a.causal);
    Tensor dw = Tensor::empty(w.shape(), w.dtype());  // d(used), then dw, then dS, in place
    Tensor dqkv = Tensor::empty(qkv.shape(), qkv.dtype());
    dispatch("packed_self_attention backward", qkv.dtype(), [&]<class T>() {
        using K = kernels::PackedAttention<T>;
        K::values_grad(qkv.data<T>(), used.data<T>(), bw.grad_out().data<T>(), dw.data<T>(),
                       dqkv.data<T>(), n);
        if (dropped)
            kernels::Dropout<T>::backward(dw.data<T>(), bw.saved(1).data<std::uint8_t>(),
                                          dw.data<T>(), dw.numel(), a.dropout);
        K::scores_grad(qkv.data<T>(), w.data<T>(), dw.data<T>(), dqkv.data<T>(), n,
                       static_cast<T>(a.scale));
    });
    bw.accumulate(0, dqkv);
}

}  // namespace

Tensor packed_self_attention(const Tensor& qkv, std::int64_t heads, double scale, bool causal,
                             AttentionDropout dropout) {
    const kernels::PackedAttentionLayout n = layout(op_name, qkv, heads, causal);
    const bool dropping = dropout.rate > 0.0;
    if (!(dropout.rate >= 0.0 && dropout.rate < 1.0) || (dropping && !dropout.generator))
        throw ValueError(
            fmt::format("{}: qkv {}: dropout rate {} must be in [0, 1), with a "
                        "generator when above 0",
                        op_name, qkv.shape(), dropout.rate));
    const Shape weights_shape{n.batch, n.heads, n.time, n.time};
    Tensor w = Tensor::empty(weights_shape, qkv.dtype());
    Tensor keep = dropping ? Tensor::empty(weights_shape, b8) : Tensor();
    Tensor used = dropping ? Tensor::empty(weights_shape, qkv.dtype()) : w;  // dropout(w)
    Tensor y = Tensor::empty({n.batch, n.time, n.heads * n.head_size}, qkv.dtype());
    dispatch(op_name, qkv.dtype(), [&]<class T>() {
        using K = kernels::PackedAttention<T>;
        K::weights(qkv.data<T>(), w.data<T>(), n, static_cast<T>(scale));
        if (dropping)
            kernels::Dropout<T>::forward(w.data<T>(), keep.data<std::uint8_t>(), used.data<T>(),
                                         w.numel(), dropout.rate, *dropout.generator);
        K::mix(used.data<T>(), qkv.data<T>(), y.data<T>(), n);
    });
    const PackedAttrs attrs{heads, scale, dropout.rate, causal};
    if (!dropping) return record(op_name, {qkv}, y, {w}, packed_backward, attrs);
    return record(op_name, {qkv}, y, {w, keep, used}, packed_backward, attrs);
}

std::array<Tensor, 3> packed_heads(const Tensor& qkv, std::int64_t heads) {
    const kernels::PackedAttentionLayout n = layout("packed_heads", qkv, heads, false);
    const std::int64_t b = n.batch, t = n.time, h = n.heads, d = n.head_size;
    // heads to the front: [B,T,3C] -> [3,B,H,T,D]
    const Tensor all = permute(reshape(qkv, {b, t, 3, h, d}), {2, 0, 3, 1, 4});
    const std::vector<Tensor> parts = split(all, {1, 1, 1}, 0);
    return {reshape(parts[0], {b, h, t, d}), reshape(parts[1], {b, h, t, d}),
            reshape(parts[2], {b, h, t, d})};
}

Tensor split_heads(const Tensor& x, std::int64_t heads) {
    return permute(reshape(x, {x.dim(0), x.dim(1), heads, x.dim(2) / heads}), {0, 2, 1, 3});
}

Tensor merge_heads(const Tensor& x) {
    return reshape(permute(x, {0, 2, 1, 3}), {x.dim(0), x.dim(2), x.dim(1) * x.dim(3)});
}

}  // namespace tapegrad
