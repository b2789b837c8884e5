// Causal attention's products. With L = tril (keep j <= i) and G the output's gradient:
//   S = L(Q·Kᵀ):  dQ = L(G)·K      dK = L(G)ᵀ·Q
//   O = L(W)·V:   dW = L(G·Vᵀ)     dV = L(W)ᵀ·G
// so three kernels (lower_product, lower_times, lower_transposed_times) serve both passes.
#include "autograd/ops/causal_matmul.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "autograd/ops/matmul.hpp"
#include "autograd/ops/shape.hpp"
#include "autograd/tape.hpp"
#include "core/kernels/causal_gemm.hpp"
#include "core/kernels/gemm.hpp"

namespace tapegrad {
namespace {

enum class Kernel { lower_product, lower_times, lower_transposed_times };

struct Sizes {
    std::int64_t tq, tk, d;
};

// out = kernel(a, b) for every matrix of the (equal) batch axes: [..., Tq, Tk] from lower_product,
// [..., Tq, d] from lower_times, [..., Tk, d] from lower_transposed_times.
Tensor run(Kernel kernel, const Tensor& a, const Tensor& b, Sizes n) {
    const std::int64_t rows = kernel == Kernel::lower_transposed_times ? n.tk : n.tq;
    const std::int64_t cols = kernel == Kernel::lower_product ? n.tk : n.d;
    Shape shape = batch_axes(a.shape());
    const std::int64_t count = shape.numel();
    shape.push_back(rows);
    shape.push_back(cols);
    Tensor out = Tensor::empty(shape, a.dtype());
    const std::int64_t step_a = a.numel() / std::max<std::int64_t>(count, 1);
    const std::int64_t step_b = b.numel() / std::max<std::int64_t>(count, 1);
    dispatch("causal product", a.dtype(), [&]<class T>() {
        using K = kernels::CausalGemm<T>;
        const auto f = kernel == Kernel::lower_product ? K::lower_product
                       : kernel == Kernel::lower_times ? K::lower_times
                                                       : K::lower_transposed_times;
        const T* pa = a.data<T>();
        const T* pb = b.data<T>();
        T* pc = out.data<T>();
        // dense operands: a is [Tq,d] for lower_product, else [Tq,Tk]; b is [Tk,d] or [Tq,d]
        const kernels::Leading ld{kernel == Kernel::lower_product ? n.d : n.tk, n.d, cols};
        kernels::for_each_product(count, n.tq * n.tk * n.d / 2, [&](std::int64_t i) {
            f(pa + i * step_a, pb + i * step_b, pc + i * rows * cols, n.tq, n.tk, n.d, ld);
        });
    });
    return out;
}

// a [..., m, x] and b [..., n, y] with equal leading axes and x == y (inner) or m == n (outer).
void check_operands(const char* op, const Tensor& a, const Tensor& b, bool inner) {
    const Shape& sa = a.shape();
    const Shape& sb = b.shape();
    if (a.dtype() != b.dtype() || !is_floating(a.dtype()))
        throw ValueError(fmt::format("{}: {} {}, {} {}: dtypes differ or are not floating", op, sa,
                                     dtype_name(a.dtype()), sb, dtype_name(b.dtype())));
    const auto fail = [&](std::string_view what) {
        throw_shape_error(op, fmt::format("{}, {}", sa, sb), what);
    };
    if (sa.rank() < 2 || sa.rank() != sb.rank()) fail("both operands need the same rank >= 2");
    if (!(batch_axes(sa) == batch_axes(sb))) fail("leading axes differ");
    const std::size_t r = sa.rank();
    if (inner ? sa[r - 1] != sb[r - 1] : sa[r - 1] != sb[r - 2])
        fail(inner ? "feature sizes differ" : "weights' keys differ from the values' length");
}

// b8 [tq, tk], 1 where key j <= query i: the kept part, for the backward that creates a graph.
Tensor lower_mask(std::int64_t tq, std::int64_t tk) {
    std::vector<std::uint8_t> keep(static_cast<std::size_t>(tq * tk));
    for (std::int64_t i = 0; i < tq; ++i)
        for (std::int64_t j = 0; j <= std::min(i, tk - 1); ++j) keep[i * tk + j] = 1;
    return mask(keep, {tq, tk});
}

// The same gradients as recorded ops, so they are differentiable: with L the kept part,
//   causal_scores: dQ = L(G)·K, dK = L(G)ᵀ·Q;   causal_mix: dW = L(G·Vᵀ), dV = L(W)ᵀ·G.
void causal_backward_recorded(Backward& bw, bool scores) {
    const Tensor& a = bw.input(0);
    const Tensor& b = bw.input(1);
    const Tensor& g = bw.grad_out();
    const Tensor zero = zeros({}, {.dtype = g.dtype()});
    const Tensor keep =
        scores ? lower_mask(g.dim(-2), g.dim(-1)) : lower_mask(a.dim(-2), a.dim(-1));
    if (scores) {
        const Tensor kept = where(keep, g, zero);
        if (bw.needs(0)) bw.accumulate(0, matmul(kept, b));
        if (bw.needs(1)) bw.accumulate(1, matmul(kept, a, true, false));
        return;
    }
    if (bw.needs(0)) bw.accumulate(0, where(keep, matmul(g, b, false, true), zero));
    if (bw.needs(1)) bw.accumulate(1, matmul(where(keep, a, zero), g, true, false));
}

}  // namespace

bool causal_products_pay_off(std::int64_t t) { return t >= 128; }

Tensor causal_scores(const Tensor& q, const Tensor& k) {
    check_operands("causal_scores", q, k, true);
    const Sizes n{q.dim(-2), k.dim(-2), q.dim(-1)};
    return record("causal_scores", {q, k}, run(Kernel::lower_product, q, k, n), {},
                  [](Backward& bw) {
                      if (bw.create_graph()) return causal_backward_recorded(bw, true);
                      const Tensor& q = bw.input(0);
                      const Tensor& k = bw.input(1);
                      const Tensor& g = bw.grad_out();
                      const Sizes n{q.dim(-2), k.dim(-2), q.dim(-1)};
                      if (bw.needs(0)) bw.accumulate(0, run(Kernel::lower_times, g, k, n));
                      if (bw.needs(1))
                          bw.accumulate(1, run(Kernel::lower_transposed_times, g, q, n));
                  });
}

Tensor causal_mix(const Tensor& weights, const Tensor& v) {
    check_operands("causal_mix", weights, v, false);
    const Sizes n{weights.dim(-2), weights.dim(-1), v.dim(-1)};
    return record("causal_mix", {weights, v}, run(Kernel::lower_times, weights, v, n), {},
                  [](Backward& bw) {
                      if (bw.create_graph()) return causal_backward_recorded(bw, false);
                      const Tensor& w = bw.input(0);
                      const Tensor& v = bw.input(1);
                      const Tensor& g = bw.grad_out();
                      const Sizes n{w.dim(-2), w.dim(-1), v.dim(-1)};
                      if (bw.needs(0)) bw.accumulate(0, run(Kernel::lower_product, g, v, n));
                      if (bw.needs(1))
                          bw.accumulate(1, run(Kernel::lower_transposed_times, w, g, n));
                  });
}

}  // namespace tapegrad
