#include "core/kernels/unary.hpp"

#include <cmath>
#include <cstdint>

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

// gelu(x) = x/2 · (1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³)  (Hendrycks & Gimpel, GPT-2)
constexpr double gelu_k = 0.7978845608028654;  // √(2/π)
constexpr double gelu_a = 0.044715;

}  // namespace

// The unary kernels' definitions and instantiations are all alike; one macro writes the frame.
#define TG_DEFINE_UNARY(Name, forward_expr, backward_expr)                                       \
    template <class T>                                                                           \
    void Name<T>::forward(std::span<const T> x, std::span<T> y, double c) {                      \
        [[maybe_unused]] const T k = static_cast<T>(c);                                          \
        each(x, y, [k]([[maybe_unused]] T x) -> T { return forward_expr; });                                      \
    }                                                                                            \
    template <class T>                                                                           \
    void Name<T>::backward(std::span<const T> x, std::span<const T> y, std::span<const T> dy,    \
                           std::span<T> dx, double c) {                                          \
        [[maybe_unused]] const T k = static_cast<T>(c);                                          \
        each(x, y, dy, dx, [k]([[maybe_unused]] T x, [[maybe_unused]] T y, T dy) -> T { return backward_expr; }); \
    }                                                                                            \
    template struct Name<float>;                                                                 \
    template struct Name<double>;

TG_DEFINE_UNARY(Neg, -x, -dy)
TG_DEFINE_UNARY(Exp, std::exp(x), dy * y)
TG_DEFINE_UNARY(Log, std::log(x), dy / x)
TG_DEFINE_UNARY(Sqrt, std::sqrt(x), dy / (T(2) * y))
TG_DEFINE_UNARY(Tanh, std::tanh(x), dy * (T(1) - y * y))
TG_DEFINE_UNARY(Sigmoid, T(1) / (T(1) + std::exp(-x)), dy * y * (T(1) - y))
TG_DEFINE_UNARY(Relu, x > T(0) ? x : T(0), x > T(0) ? dy : T(0))
TG_DEFINE_UNARY(PowScalar, std::pow(x, k), dy * k * std::pow(x, k - T(1)))
TG_DEFINE_UNARY(AddScalar, x + k, dy)
TG_DEFINE_UNARY(MulScalar, x * k, dy * k)
TG_DEFINE_UNARY(Gelu,
                T(0.5) * x * (T(1) + std::tanh(T(gelu_k) * (x + T(gelu_a) * x * x * x))),
                [&] {
                    const T t = std::tanh(T(gelu_k) * (x + T(gelu_a) * x * x * x));
                    const T du = T(gelu_k) * (T(1) + T(3 * gelu_a) * x * x);
                    return dy * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du);
                }())

#undef TG_DEFINE_UNARY

}  // namespace tapegrad::kernels
