#include "core/kernels/unary.hpp"

#include <cmath>
#include <cstdint>

// GCC 12 flags the deliberately undefined registers inside its own AVX-512 intrinsics, which
// xsimd's tanh and exp inline here (a known false positive, GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <xsimd/xsimd.hpp>

#include "core/kernels/parallel.hpp"

namespace tapegrad::kernels {
namespace {

// Applies f(x_i) -> y_i, or f(x_i, y_i, dy_i) -> dx_i, in one OpenMP loop.
template <class T, class F>
void each(std::span<const T> x, std::span<T> y, F f) {
    const auto n = static_cast<std::int64_t>(x.size());
#pragma omp parallel for simd if (n > parallel_threshold)
    for (std::int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

template <class T, class F>
void each(std::span<const T> x, std::span<const T> y, std::span<const T> dy, std::span<T> dx, F f) {
    const auto n = static_cast<std::int64_t>(x.size());
#pragma omp parallel for simd if (n > parallel_threshold)
    for (std::int64_t i = 0; i < n; ++i) dx[i] = f(x[i], y[i], dy[i]);
}

// The same, for ops whose f is a generic lambda over T and xsimd::batch<T>: whole SIMD batches
// first (vectorised tanh and exp instead of one libm call per element), then the scalar tail.
template <class T, class F>
void each_simd(std::span<const T> x, std::span<T> y, F f) {
    using Batch = xsimd::batch<T>;
    const auto n = static_cast<std::int64_t>(x.size());
    const std::int64_t whole = n / std::int64_t{Batch::size} * std::int64_t{Batch::size};
#pragma omp parallel for if (n > parallel_threshold)
    for (std::int64_t i = 0; i < whole; i += std::int64_t{Batch::size})
        f(Batch::load_unaligned(&x[i])).store_unaligned(&y[i]);
    for (std::int64_t i = whole; i < n; ++i) y[i] = f(x[i]);
}

template <class T, class F>
void each_simd(std::span<const T> x, std::span<const T> y, std::span<const T> dy, std::span<T> dx, F f) {
    using Batch = xsimd::batch<T>;
    const auto n = static_cast<std::int64_t>(x.size());
    const std::int64_t whole = n / std::int64_t{Batch::size} * std::int64_t{Batch::size};
#pragma omp parallel for if (n > parallel_threshold)
    for (std::int64_t i = 0; i < whole; i += std::int64_t{Batch::size})
        f(Batch::load_unaligned(&x[i]), Batch::load_unaligned(&y[i]), Batch::load_unaligned(&dy[i]))
            .store_unaligned(&dx[i]);
    for (std::int64_t i = whole; i < n; ++i) dx[i] = f(x[i], y[i], dy[i]);
}

// gelu(x) = x/2 · (1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³)  (Hendrycks & Gimpel, GPT-2)
constexpr double gelu_k = 0.7978845608028654;  // √(2/π)
constexpr double gelu_a = 0.044715;

}  // namespace

// The unary kernels' definitions and instantiations are all alike; one macro writes the frame.
#define TG_DEFINE_LOOP(Name, loop, forward_expr, backward_expr)                                       \
    template <class T>                                                                           \
    void Name<T>::forward(std::span<const T> x, std::span<T> y, double c) {                      \
        [[maybe_unused]] const T k = static_cast<T>(c);                                          \
        loop(x, y, [k]([[maybe_unused]] auto x) { return forward_expr; });                                      \
    }                                                                                            \
    template <class T>                                                                           \
    void Name<T>::backward(std::span<const T> x, std::span<const T> y, std::span<const T> dy,    \
                           std::span<T> dx, double c) {                                          \
        [[maybe_unused]] const T k = static_cast<T>(c);                                          \
        loop(x, y, dy, dx, [k]([[maybe_unused]] auto x, [[maybe_unused]] auto y, auto dy) { return backward_expr; }); \
    }                                                                                            \
    template struct Name<float>;                                                                 \
    template struct Name<double>;
// Plain loops (the compiler vectorises them), and loops over xsimd batches for tanh and exp.
#define TG_DEFINE_UNARY(Name, forward_expr, backward_expr) TG_DEFINE_LOOP(Name, each, forward_expr, backward_expr)
#define TG_DEFINE_SIMD_UNARY(Name, forward_expr, backward_expr) \
    TG_DEFINE_LOOP(Name, each_simd, forward_expr, backward_expr)

TG_DEFINE_UNARY(Neg, -x, -dy)
TG_DEFINE_SIMD_UNARY(Exp, xsimd::exp(x), dy * y)
TG_DEFINE_UNARY(Log, std::log(x), dy / x)
TG_DEFINE_UNARY(Sqrt, std::sqrt(x), dy / (T(2) * y))
TG_DEFINE_SIMD_UNARY(Tanh, xsimd::tanh(x), dy * (T(1) - y * y))
TG_DEFINE_SIMD_UNARY(Sigmoid, T(1) / (T(1) + xsimd::exp(-x)), dy * y * (T(1) - y))
TG_DEFINE_UNARY(Relu, x > T(0) ? x : T(0), x > T(0) ? dy : T(0))
TG_DEFINE_UNARY(PowScalar, std::pow(x, k), dy * k * std::pow(x, k - T(1)))
TG_DEFINE_UNARY(AddScalar, x + k, dy)
TG_DEFINE_UNARY(MulScalar, x * k, dy * k)
TG_DEFINE_SIMD_UNARY(Gelu,
                T(0.5) * x * (T(1) + xsimd::tanh(T(gelu_k) * (x + T(gelu_a) * x * x * x))),
                [&] {
                    const auto t = xsimd::tanh(T(gelu_k) * (x + T(gelu_a) * x * x * x));
                    const auto du = T(gelu_k) * (T(1) + T(3 * gelu_a) * x * x);
                    return dy * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du);
                }())

#undef TG_DEFINE_UNARY
#undef TG_DEFINE_SIMD_UNARY
#undef TG_DEFINE_LOOP

}  // namespace tapegrad::kernels
