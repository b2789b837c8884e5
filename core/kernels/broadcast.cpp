#include "core/kernels/broadcast.hpp"

#include <cmath>
#include <cstring>

#include <algorithm>
#include <functional>
#include <limits>

#include "core/kernels/parallel.hpp"
#include "core/kernels/walk.hpp"

namespace tapegrad::kernels {
namespace {

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
    const Shape& s = out.shape();
    const std::array<Strides, 3> strides{s.strides(), broadcast_strides(a.shape(), s), broadcast_strides(b.shape(), s)};
    for_each_row(s, strides, [&](const auto& at, std::int64_t n, const auto& step) {
        for (std::int64_t k = 0; k < n; ++k) po[at[0] + k] = f(pa[at[1] + k * step[1]], pb[at[2] + k * step[2]]);
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
    const std::array<Strides, 2> strides{shape.strides(), broadcast_strides(x.shape(), shape)};
    for_each_row(shape, strides, [&](const auto& at, std::int64_t n, const auto& step) {
        if (step[1] == 1) return void(std::memcpy(dst + at[0] * width, src + at[1] * width, n * width));
        for (std::int64_t k = 0; k < n; ++k) std::memcpy(dst + (at[0] + k) * width, src + (at[1] + k * step[1]) * width, width);
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
    const std::array<Strides, 2> strides{x.shape().strides(), broadcast_strides(keep, x.shape())};
    for_each_row(x.shape(), strides, [&](const auto& at, std::int64_t n, const auto& step) {
        for (std::int64_t k = 0; k < n; ++k) po[at[1] + k * step[1]] = combine(po[at[1] + k * step[1]], px[at[0] + k]);
    }, /*parallel=*/false);
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
