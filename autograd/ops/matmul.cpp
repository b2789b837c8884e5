// Matrix products. Every product goes through kernels::Gemm; transposes are BLAS flags, not copies.
#include "autograd/ops/matmul.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>

#include "autograd/ops/reduce.hpp"
#include "autograd/ops/shape.hpp"
#include "autograd/tape.hpp"
#include "core/kernels/broadcast.hpp"
#include "core/kernels/gemm.hpp"
#include "core/precision.hpp"

namespace tapegrad {
namespace {

struct Dims {
    std::int64_t m, n, k;
    Shape batch;  // broadcast leading axes

    Shape output() const {  // [...batch, m, n]
        Shape out = batch;
        out.push_back(m);
        out.push_back(n);
        return out;
    }
};

// The broadcast leading axes; the error names both whole operands, not just their batch parts.
Shape batch_shape(const Shape& sa, const Shape& sb) {
    try {
        return broadcast_shapes("matmul", batch_axes(sa), batch_axes(sb));
    } catch (const ShapeError&) {
        throw_shape_error(
            "matmul", fmt::format("{} @ {}", sa, sb),
            fmt::format("batch axes do not broadcast ({} vs {})", batch_axes(sa), batch_axes(sb)));
    }
}

Dims check(const Tensor& a, const Tensor& b, bool ta, bool tb) {
    const Shape& sa = a.shape();
    const Shape& sb = b.shape();
    if (a.dtype() != b.dtype())
        throw ValueError(fmt::format("matmul: {} {} @ {} {}: dtypes differ", sa,
                                     dtype_name(a.dtype()), sb, dtype_name(b.dtype())));
    if (sa.rank() < 2 || sb.rank() < 2)
        throw_shape_error("matmul", fmt::format("{} @ {}", sa, sb), "both operands need rank >= 2");
    const std::int64_t m = ta ? sa.back() : sa[sa.rank() - 2],
                       k_a = ta ? sa[sa.rank() - 2] : sa.back();
    const std::int64_t k_b = tb ? sb.back() : sb[sb.rank() - 2],
                       n = tb ? sb[sb.rank() - 2] : sb.back();
    if (k_a != k_b)
        throw_shape_error("matmul",
                          fmt::format("{}{} @ {}{}", sa, ta ? "ᵀ" : "", sb, tb ? "ᵀ" : ""),
                          fmt::format("inner dimensions differ ({} vs {})", k_a, k_b));
    return {m, n, k_a, batch_shape(sa, sb)};
}

// Offset (in matrices) of batch index `i` of `batch` inside an operand with leading shape `lead`.
std::int64_t batch_offset(std::int64_t i, const Shape& batch, const Shape& lead) {
    std::int64_t offset = 0, stride = 1;
    for (std::size_t axis = batch.rank(), la = lead.rank(); axis-- > 0;) {
        const std::int64_t idx = i % batch[axis];
        i /= batch[axis];
        if (la > 0) {
            --la;
            if (lead[la] != 1) offset += idx * stride;
            stride *= lead[la];
        }
    }
    return offset;
}

// The rows of C [rows, n] set to the bias [n], for a product that adds to them (beta = 1).
template <class T>
void fill_rows(T* c, const T* bias, std::int64_t rows, std::int64_t n) {
    for (std::int64_t r = 0; r < rows; ++r) std::copy_n(bias, n, c + r * n);
}

// op(a)·op(b), plus `bias` [n] on every row when given (linear's: b is then one matrix). The bias
// goes into the product: the output starts as the bias and BLAS adds a·b to it (beta = 1), one
// pass over the output fewer than zeroing it for the product and adding the bias after (the toy
// GPT step: see docs/benchmarks.md).
Tensor forward(const Tensor& a, const Tensor& b, bool ta, bool tb, const Tensor& bias = {}) {
    const Dims d = check(a, b, ta, tb);
    Tensor out = Tensor::empty(d.output(), a.dtype());
    const Shape la = batch_axes(a.shape()), lb = batch_axes(b.shape());
    dispatch("matmul", a.dtype(), [&]<class T>() {
        const T* pa = a.data<T>();
        const T* pb = b.data<T>();
        T* pc = out.data<T>();
        const std::int64_t lda = a.shape().back(), ldb = b.shape().back();
        if (lb.numel() == 1 && !ta) {  // b shared by every batch: fold the batch into M, one gemm
            const std::int64_t rows = d.batch.numel() * d.m;
            if (bias.defined()) fill_rows(pc, bias.data<T>(), rows, d.n);
            const T beta = bias.defined() ? T(1) : T(0);
            kernels::Gemm<T>::run(false, tb, rows, d.n, d.k, T(1), pa, lda, pb, ldb, beta, pc, d.n);
            return;
        }
        assert(!bias.defined());
        kernels::for_each_product(d.batch.numel(), d.m * d.n * d.k, [&](std::int64_t i) {
            const T* ai = pa + batch_offset(i, d.batch, la) * d.m * d.k;
            const T* bi = pb + batch_offset(i, d.batch, lb) * d.k * d.n;
            kernels::Gemm<T>::run(ta, tb, d.m, d.n, d.k, T(1), ai, lda, bi, ldb, T(0),
                                  pc + i * d.m * d.n, d.n);
        });
    });
    return out;
}

struct MatmulAttrs {
    bool transpose_a, transpose_b;
};

// linear's backward as recorded ops, for a sweep that creates a graph: the same three products,
// each through matmul and sum, so they have gradients of their own.
void linear_backward_recorded(Backward& bw) {
    const Tensor& x = bw.input(0);
    const Tensor& w = bw.input(1);
    const Tensor g =
        reshape_to(bw.grad_out(), {bw.grad_out().numel() / w.shape()[1], w.shape()[1]});
    if (bw.needs(0)) bw.accumulate(0, reshape_to(matmul(g, w, false, true), x.shape()));
    if (bw.needs(1))
        bw.accumulate(1, matmul(reshape_to(x, {g.shape()[0], w.shape()[0]}), g, true, false));
    if (bw.num_inputs() == 3 && bw.needs(2)) bw.accumulate(2, sum(g, {0}));
}

// Whether x·op(W) runs as product_keeping_bf16: bf16 mixed precision, float32, one weight matrix.
bool keeps_bf16_copies(const Tensor& x, const Tensor& w) {
    return x.dtype() == f32 && w.dtype() == f32 && w.rank() == 2 &&
           precision() == Precision::bf16;
}

struct Bf16ProductAttrs {
    bool transpose_w;
};

// x [rows, in] · op(W), op(W) [in, out], (+ bias [out]) in bf16 mixed precision (core/precision.hpp):
// linear's product and the tied head's x·Wᵀ. x and W are rounded to bf16 once, and backward keeps
// those copies instead of the float32 tensors: x's float32 buffer is freed with the forward (its
// copy takes half the memory), and backward rounds neither again, so a weight is rounded once a
// step, not at each of its two products. Rounding is deterministic: the results are those of
// rounding at every product.
//   dx = dy·op(W)ᵀ   dW = xᵀ·dy (Wᵀ: dyᵀ·x)   db = Σ_rows dy   (dy rounded once for all)
Tensor product_keeping_bf16(const char* op, const Tensor& x, const Tensor& w, bool tw,
                            const Tensor& b, const Shape& out_shape, std::vector<Tensor> inputs) {
    const std::int64_t rows = x.dim(0), in = x.dim(1), out = tw ? w.dim(0) : w.dim(1);
    const Tensor x16 = x.to(bf16), w16 = w.to(bf16);
    Tensor y = Tensor::empty({rows, out}, f32);
    if (b.defined()) fill_rows(y.data<float>(), b.data<float>(), rows, out);
    kernels::gemm_bf16(false, tw, rows, out, in, 1.0f, {.bf16 = x16.data<std::uint16_t>()}, in,
                       {.bf16 = w16.data<std::uint16_t>()}, w.dim(1), b.defined() ? 1.0f : 0.0f,
                       y.data<float>(), out);
    const auto backward = [](Backward& bw) {
        if (bw.create_graph())  // the bf16 copies have no history: no recorded form here
            throw ValueError(
                "linear/matmul: backward with create_graph is not supported in bf16 "
                "mixed precision; take second derivatives in f32 or f64");
        const bool tw = bw.attrs<Bf16ProductAttrs>().transpose_w;
        const Tensor &x16 = bw.saved(0), &w16 = bw.saved(1);
        const std::int64_t rows = x16.dim(0), in = x16.dim(1), ldw = w16.dim(1),
                           out = tw ? w16.dim(0) : ldw;
        const Tensor g = bw.grad_out().view_as_shape({rows, out});
        const Tensor g16 = g.to(bf16);
        const kernels::Bf16Operand xb{.bf16 = x16.data<std::uint16_t>()},
            wb{.bf16 = w16.data<std::uint16_t>()}, gb{.bf16 = g16.data<std::uint16_t>()};
        if (bw.needs(0)) {
            Tensor dx = Tensor::empty({rows, in}, f32);
            kernels::gemm_bf16(false, !tw, rows, in, out, 1.0f, gb, out, wb, ldw, 0.0f,
                               dx.data<float>(), in);
            bw.accumulate(0, dx.view_as_shape(bw.input(0).shape()));
        }
        if (bw.needs(1)) {
            Tensor dw = Tensor::empty(w16.shape(), f32);
            if (tw)
                kernels::gemm_bf16(true, false, out, in, rows, 1.0f, gb, out, xb, in, 0.0f,
                                   dw.data<float>(), in);
            else
                kernels::gemm_bf16(true, false, in, out, rows, 1.0f, xb, in, gb, out, 0.0f,
                                   dw.data<float>(), out);
            bw.accumulate(1, dw);
        }
        if (bw.num_inputs() == 3 && bw.needs(2))
            bw.accumulate(2, kernels::sum_keepdims(g, {0}).view_as_shape(bw.input(2).shape()));
    };
    return record(op, std::move(inputs), y.view_as_shape(out_shape), {x16, w16}, backward,
                  Bf16ProductAttrs{tw}, InputReads::none());
}

}  // namespace

// C = op(A)·op(B). With G = dC:
//   A·B:   dA = G·Bᵀ    dB = Aᵀ·G        Aᵀ·B:  dA = B·Gᵀ    dB = A·G
//   A·Bᵀ:  dA = G·B     dB = Gᵀ·A        Aᵀ·Bᵀ: dA = Bᵀ·Gᵀ   dB = Gᵀ·Aᵀ
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
    if (!transpose_a && keeps_bf16_copies(a, b)) {  // the tied head, x·wteᵀ
        const Dims d = check(a, b, false, transpose_b);
        return product_keeping_bf16("matmul", a.view_as_shape({a.numel() / d.k, d.k}), b,
                                    transpose_b, {}, d.output(), {a, b});
    }
    const MatmulAttrs attrs{transpose_a, transpose_b};
    return record(
        "matmul", {a, b}, forward(a, b, transpose_a, transpose_b), {},
        [](Backward& bw) {
            const auto [ta, tb] = bw.attrs<MatmulAttrs>();
            const Tensor& g = bw.grad_out();
            const Tensor& a = bw.input(0);
            const Tensor& b = bw.input(1);
            if (bw.needs(0))
                bw.accumulate(0, ta ? matmul(b, g, tb, true) : matmul(g, b, false, !tb));
            if (bw.needs(1))
                bw.accumulate(1, tb ? matmul(g, a, true, ta) : matmul(a, g, !ta, false));
        },
        attrs);
}

// y = x·W + b over the last axis, all leading axes folded into one gemm.
//   dx = dy·Wᵀ   dW = xᵀ·dy   db = Σ_rows dy
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
    if (w.rank() != 2 || x.rank() < 1 || x.shape().back() != w.shape()[0])
        throw_shape_error(
            "linear", fmt::format("x {} @ kernel {}", x.shape(), w.shape()),
            fmt::format("input features differ from the kernel's rows ({} vs {})",
                        x.rank() ? x.shape().back() : 0, w.rank() ? w.shape()[0] : 0));
    if (b.defined() && (b.rank() != 1 || b.shape()[0] != w.shape()[1]))
        throw_shape_error("linear", fmt::format("kernel {}, bias {}", w.shape(), b.shape()),
                          fmt::format("bias must be [{}]", w.shape()[1]));
    const std::int64_t in = w.shape()[0];
    Shape flat{x.numel() / std::max<std::int64_t>(in, 1), in};
    if (b.defined() && b.dtype() != w.dtype())
        throw ValueError(fmt::format("linear: kernel {} {}, bias {} {}: dtypes differ", w.shape(),
                                     dtype_name(w.dtype()), b.shape(), dtype_name(b.dtype())));
    Shape out_shape(x.shape().dims().first(x.rank() - 1));
    out_shape.push_back(w.shape()[1]);
    std::vector<Tensor> inputs{x, w};
    if (b.defined()) inputs.push_back(b);
    if (keeps_bf16_copies(x, w))
        return product_keeping_bf16("linear", x.view_as_shape(flat), w, false, b, out_shape,
                                    std::move(inputs));
    const Tensor y = forward(x.view_as_shape(flat), w, false, false, b).view_as_shape(out_shape);
    return record("linear", std::move(inputs), y, {}, [](Backward& bw) {
        if (bw.create_graph()) return linear_backward_recorded(bw);
        const Tensor& w = bw.input(1);
        const Tensor g =
            bw.grad_out().view_as_shape({bw.grad_out().numel() / w.shape()[1], w.shape()[1]});
        const Tensor& x = bw.input(0);
        if (bw.needs(0)) bw.accumulate(0, forward(g, w, false, true).view_as_shape(x.shape()));
        if (bw.needs(1))
            bw.accumulate(1,
                          forward(x.view_as_shape({g.shape()[0], w.shape()[0]}), g, true, false));
        if (bw.num_inputs() == 3 && bw.needs(2))
            bw.accumulate(2, kernels::sum_keepdims(g, {0}).view_as_shape(bw.input(2).shape()));
    });
}

}  // namespace tapegrad
