#include "core/kernels/broadcast.hpp"

#include <cmath>
#include <cstring>

#include <algorithm>
#include <functional>
#include <limits>

#include "core/kernels/parallel.hpp"

namespace tapegrad::kernels {
namespace {

// Strides of `in` read as if broadcast to `out` (0 along repeated axes), aligned from the right.
std::array<std::int64_t, Shape::max_rank> broadcast_strides(const Shape& in, const Shape& out) {
    std::array<std::int64_t, Shape::max_rank> s{};
    const auto own = in.strides();
    const std::size_t shift = out.rank() - in.rank();
    for (std::size_t i = 0; i < in.rank(); ++i) s[i + shift] = in[i] == 1 ? 0 : own[i];
    return s;
}

// Calls row(out_offset, a_offset, b_offset, n, a_step, b_step) once per innermost row of `out`.
template <bool parallel = true, class Row>
void walk_rows(const Shape& out, const Shape& a, const Shape& b, Row row) {
    if (out.rank() == 0) return row(0, 0, 0, 1, 0, 0);
    const auto sa = broadcast_strides(a, out), sb = broadcast_strides(b, out);
    const std::size_t last = out.rank() - 1;
    const std::int64_t n = out.back(), rows = n == 0 ? 0 : out.numel() / n;
#pragma omp parallel for if (parallel && out.numel() > parallel_threshold)
    for (std::int64_t r = 0; r < rows; ++r) {
        std::int64_t rest = r, oa = 0, ob = 0;
        for (std::size_t axis = last; axis-- > 0;) {
            const std::int64_t i = rest % out[axis];
            rest /= out[axis];
            oa += i * sa[axis];
            ob += i * sb[axis];
        }
        row(r * n, oa, ob, n, sa[last], sb[last]);
    }
}

template <class T, class F>
void apply(const Tensor& a, const Tensor& b, const Tensor& out, F f) {
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    if (a.shape() == b.shape()) {  // the common case: one flat loop the compiler vectorises
        const std::int64_t n = out.numel();
#pragma omp parallel for simd if (n > parallel_threshold)
        for (std::int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
        return;
    }
    walk_rows(out.shape(), a.shape(), b.shape(),
              [&](std::int64_t o, std::int64_t ia, std::int64_t ib, std::int64_t n, std::int64_t step_a,
                  std::int64_t step_b) {
                  for (std::int64_t k = 0; k < n; ++k) po[o + k] = f(pa[ia + k * step_a], pb[ib + k * step_b]);
              });
}

}  // namespace

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const Shape& out_shape) {
    Tensor out = Tensor::empty(out_shape, a.dtype());
    dispatch("binary", a.dtype(), [&]<class T>() {
        switch (op) {
            case BinaryOp::add: return apply<T>(a, b, out, [](T x, T y) { return x + y; });
            case BinaryOp::sub: return apply<T>(a, b, out, [](T x, T y) { return x - y; });
            case BinaryOp::mul: return apply<T>(a, b, out, [](T x, T y) { return x * y; });
            case BinaryOp::div: return apply<T>(a, b, out, [](T x, T y) { return x / y; });
            case BinaryOp::pow: return apply<T>(a, b, out, [](T x, T y) { return std::pow(x, y); });
            case BinaryOp::eq: return apply<T>(a, b, out, [](T x, T y) { return T(x == y); });
        }
    });
    return out;
}

Tensor expand(const Tensor& x, const Shape& shape) {
    Tensor out = Tensor::empty(shape, x.dtype());
    const std::size_t width = dtype_size(x.dtype());
    const auto* src = static_cast<const std::byte*>(x.raw_data());
    auto* dst = static_cast<std::byte*>(out.raw_data());
    walk_rows(shape, x.shape(), x.shape(),
              [&](std::int64_t o, std::int64_t ix, std::int64_t, std::int64_t n, std::int64_t step, std::int64_t) {
                  if (step == 1) return void(std::memcpy(dst + o * width, src + ix * width, n * width));
                  for (std::int64_t k = 0; k < n; ++k)
                      std::memcpy(dst + (o + k) * width, src + (ix + k * step) * width, width);
              });
    return out;
}

// Reductions walk x's rows and read/write the keepdims result through its broadcast strides.
// Serial: different rows may land on the same output element.
template <class T, class F>
Tensor reduce(const Tensor& x, const std::vector<std::size_t>& axes, T init, F combine) {
    Shape keep = x.shape();
    for (std::size_t a : axes) keep[a] = 1;
    Tensor out = full(keep, 0.0, {.dtype = x.dtype()});
    T* po = out.data<T>();
    std::fill(po, po + out.numel(), init);
    const T* px = x.data<T>();
    walk_rows<false>(x.shape(), x.shape(), keep,
                     [&](std::int64_t, std::int64_t ix, std::int64_t io, std::int64_t n, std::int64_t, std::int64_t step) {
                         for (std::int64_t k = 0; k < n; ++k) po[io + k * step] = combine(po[io + k * step], px[ix + k]);
                     });
    return out;
}

Tensor sum_keepdims(const Tensor& x, const std::vector<std::size_t>& axes) {
    return dispatch("sum", x.dtype(), [&]<class T>() { return reduce<T>(x, axes, T(0), std::plus<T>()); });
}

Tensor max_keepdims(const Tensor& x, const std::vector<std::size_t>& axes) {
    return dispatch("max", x.dtype(), [&]<class T>() {
        return reduce<T>(x, axes, -std::numeric_limits<T>::infinity(), [](T a, T b) { return std::max(a, b); });
    });
}

Tensor max_backward(const Tensor& x, const Tensor& y, const Tensor& dy, const std::vector<std::size_t>& axes) {
    return dispatch("max", x.dtype(), [&]<class T>() {
        Tensor hit = binary(BinaryOp::eq, x, y, x.shape());  // 1 where x is its slice's maximum
        Tensor ties = sum_keepdims(hit, axes);
        Tensor share = binary(BinaryOp::div, dy, ties, dy.shape());
        return binary(BinaryOp::mul, hit, share, x.shape());
    });
}

}  // namespace tapegrad::kernels
