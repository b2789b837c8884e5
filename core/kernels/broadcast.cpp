#include "core/kernels/broadcast.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <utility>
#include <xtensor/xadapt.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include "core/kernels/parallel.hpp"
#include "core/kernels/walk.hpp"

namespace tapegrad::kernels {
namespace {

// Hand-written, measured against xtensor's broadcasting assignment (bench/xtensor_bench.cpp, one
// thread, ns per element): same shapes 0.17–0.21 against 0.18, a bias row 0.089 against 0.091,
// [B,T,C] + [T,C] 0.15 against 0.12 (xtensor ahead), a column [R,1] 0.68 against 10.9. xtensor's
// broadcasting assignment also runs on one thread where this splits rows across the pool, and one
// broadcasting rule serves every binary op: the kernel stays (docs/design.md, "xtensor").
template <class T, class F>
void apply(const Tensor& a, const Tensor& b, const Tensor& out, F f) {
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    if (a.shape() == b.shape()) {  // the common case: one flat loop the compiler vectorises
        const std::int64_t n = out.numel();
        parallel_for_simd(n, [&](std::int64_t i) { po[i] = f(pa[i], pb[i]); });
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

// Whether `axes` are the last ones of x (the last axis, or every axis) and x has elements: then x
// is [rows, n] with each row reduced to one element. Those go to xtensor's reducer, which keeps a
// row's running value in a register; the walker above sends every element of a row through the one
// output element in memory: 11 ns per element against xtensor's 0.8 (bench/xtensor_bench.cpp, one
// thread, docs/benchmarks.md). Other axes stay with the walker, which reads rows contiguously:
// xtensor's reducer over the first axis of [1024,1024] (a bias gradient) took 11.6 ns per element,
// the walker 0.054.
namespace {

bool reduces_trailing_axes(const Tensor& x, const std::vector<std::size_t>& axes) {
    return !axes.empty() && x.numel() > 0 && axes.back() == x.rank() - 1 &&
           axes.size() == x.rank() - axes.front();
}

// out [rows] = reduce_row(x as [rows, n]) for trailing axes; reduced axes kept as size 1.
template <class T, class ReduceRows>
Tensor reduce_rows(const Tensor& x, const std::vector<std::size_t>& axes, ReduceRows reduce_row) {
    Shape keep = x.shape();
    std::size_t n = 1;
    for (std::size_t a : axes) n *= static_cast<std::size_t>(std::exchange(keep[a], 1));
    Tensor out = Tensor::empty(keep, x.dtype());
    const auto rows = static_cast<std::size_t>(out.numel());
    const auto in = xt::adapt(x.data<T>(), rows * n, xt::no_ownership(), std::array{rows, n});
    auto y = xt::adapt(out.data<T>(), rows, xt::no_ownership(), std::array{rows});
    xt::noalias(y) = reduce_row(in);
    return out;
}

}  // namespace

Tensor sum_keepdims(const Tensor& x, const std::vector<std::size_t>& axes) {
    return dispatch("sum", x.dtype(), [&]<class T>() {
        if (reduces_trailing_axes(x, axes))
            return reduce_rows<T>(x, axes, [](const auto& in) { return xt::sum(in, {1}); });
        return reduce<T>(x, axes, T(0), std::plus<T>());
    });
}

Tensor max_keepdims(const Tensor& x, const std::vector<std::size_t>& axes) {
    return dispatch("max", x.dtype(), [&]<class T>() {
        if (reduces_trailing_axes(x, axes))
            return reduce_rows<T>(x, axes, [](const auto& in) { return xt::amax(in, {1}); });
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
