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

// Each op's formulas: forward(x, k) -> y and backward(x, y, dy, k) -> dx, where k is the op's
// scalar. An op with `simd = true` is called with whole xsimd batches too (vectorised tanh, exp
// and sqrt instead of one libm call per element); the others run in a loop the compiler vectorises
// itself.
// These stay hand-written rather than xtensor expressions: an expression is these same xsimd calls,
// written a second time apart from the backward. The A/B (bench/xtensor_bench.cpp, one thread,
// 2^20 floats, docs/benchmarks.md) measured the two within 5 % of each other (gelu 0.68 against
// 0.71 ns per element) once it had shown two defects of the hand loops, now fixed: spans indexed
// inside the OpenMP loop kept it scalar (relu 1.36 ns per element, now 0.083; xtensor 0.084), and
// sqrt called libm per element. Log and pow are the exception, below.

template <class T>
struct Neg {  // y = −x
    static constexpr bool simd = false;
    static T forward(T x, T) { return -x; }
    static T backward(T, T, T dy, T) { return -dy; }
};

template <class T>
struct Exp {  // y = eˣ, dy/dx = y
    static constexpr bool simd = true;
    static auto forward(auto x, T) { return xsimd::exp(x); }
    static auto backward(auto, auto y, auto dy, T) { return dy * y; }
};

// Scalar: xsimd 8.1's log (and pow, made of it) does not compile without optimisation on AVX-512
// (its select casts a batch to the blend intrinsics' vector types, which GCC 12 defines as macros
// at -O0), so a Debug or sanitizer build would fail; the scalar loop costs 3.6 ns per element
// against xsimd's 0.36.
template <class T>
struct Log {
    static constexpr bool simd = false;
    static T forward(T x, T) { return std::log(x); }
    static T backward(T x, T, T dy, T) { return dy / x; }
};

template <class T>
struct Sqrt {  // dy/dx = 1 / (2y)
    static constexpr bool simd = true;
    static auto forward(auto x, T) { return xsimd::sqrt(x); }
    static auto backward(auto, auto y, auto dy, T) { return dy / (T(2) * y); }
};

template <class T>
struct Tanh {  // dy/dx = 1 − y²
    static constexpr bool simd = true;
    static auto forward(auto x, T) { return xsimd::tanh(x); }
    static auto backward(auto, auto y, auto dy, T) { return dy * (T(1) - y * y); }
};

template <class T>
struct Sigmoid {  // y = 1 / (1 + e⁻ˣ), dy/dx = y(1 − y)
    static constexpr bool simd = true;
    static auto forward(auto x, T) { return T(1) / (T(1) + xsimd::exp(-x)); }
    static auto backward(auto, auto y, auto dy, T) { return dy * y * (T(1) - y); }
};

template <class T>
struct Relu {
    static constexpr bool simd = false;
    static T forward(T x, T) { return x > T(0) ? x : T(0); }
    static T backward(T x, T, T dy, T) { return x > T(0) ? dy : T(0); }
};

template <class T>
struct PowScalar {  // y = xᵏ; scalar for the reason Log is
    static constexpr bool simd = false;
    static T forward(T x, T k) { return std::pow(x, k); }
    static T backward(T x, T, T dy, T k) { return dy * k * std::pow(x, k - T(1)); }
};

template <class T>
struct AddScalar {
    static constexpr bool simd = false;
    static T forward(T x, T k) { return x + k; }
    static T backward(T, T, T dy, T) { return dy; }
};

template <class T>
struct MulScalar {
    static constexpr bool simd = false;
    static T forward(T x, T k) { return x * k; }
    static T backward(T, T, T dy, T k) { return dy * k; }
};

// gelu(x) = x/2 · (1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³)  (Hendrycks & Gimpel, GPT-2)
template <class T>
struct Gelu {
    static constexpr bool simd = true;
    static constexpr double sqrt_2_over_pi = 0.7978845608028654;
    static constexpr double cubic = 0.044715;

    static auto u(auto x) { return T(sqrt_2_over_pi) * (x + T(cubic) * x * x * x); }
    static auto forward(auto x, T) { return T(0.5) * x * (T(1) + xsimd::tanh(u(x))); }
    static auto backward(auto x, auto, auto dy, T) {
        const auto t = xsimd::tanh(u(x));
        const auto du = T(sqrt_2_over_pi) * (T(1) + T(3 * cubic) * x * x);
        return dy * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du);
    }
};

namespace {

// y_i = f(x_i) in one OpenMP loop the compiler vectorises. Over raw pointers: indexing the spans
// inside the OpenMP region kept GCC 12 from vectorising, 20× slower (relu: 1.36 ns per element
// against 0.08 for the same loop as an xtensor expression, bench/xtensor_bench.cpp).
template <class T, class F>
void each(std::span<const T> xs, std::span<T> ys, F f) {
    const auto n = static_cast<std::int64_t>(xs.size());
    const T* x = xs.data();
    T* y = ys.data();
    parallel_for_simd(n, [&](std::int64_t i) { y[i] = f(x[i]); });
}

// The same with f called on whole xsimd batches, then on the scalar tail.
template <class T, class F>
void each_simd(std::span<const T> x, std::span<T> y, F f) {
    using Batch = xsimd::batch<T>;
    const auto n = static_cast<std::int64_t>(x.size());
    const std::int64_t whole = n / std::int64_t{Batch::size} * std::int64_t{Batch::size};
    parallel_for(whole / std::int64_t{Batch::size}, n, [&](std::int64_t b) {
        const std::int64_t i = b * std::int64_t{Batch::size};
        f(Batch::load_unaligned(&x[i])).store_unaligned(&y[i]);
    });
    for (std::int64_t i = whole; i < n; ++i) y[i] = f(x[i]);
}

// dx_i = f(x_i, y_i, dy_i), plain and over batches.
template <class T, class F>
void each(std::span<const T> xs, std::span<const T> ys, std::span<const T> dys, std::span<T> dxs,
          F f) {
    const auto n = static_cast<std::int64_t>(xs.size());
    const T *x = xs.data(), *y = ys.data(), *dy = dys.data();
    T* dx = dxs.data();
    parallel_for_simd(n, [&](std::int64_t i) { dx[i] = f(x[i], y[i], dy[i]); });
}

template <class T, class F>
void each_simd(std::span<const T> x, std::span<const T> y, std::span<const T> dy, std::span<T> dx,
               F f) {
    using Batch = xsimd::batch<T>;
    const auto n = static_cast<std::int64_t>(x.size());
    const std::int64_t whole = n / std::int64_t{Batch::size} * std::int64_t{Batch::size};
    parallel_for(whole / std::int64_t{Batch::size}, n, [&](std::int64_t b) {
        const std::int64_t i = b * std::int64_t{Batch::size};
        f(Batch::load_unaligned(&x[i]), Batch::load_unaligned(&y[i]), Batch::load_unaligned(&dy[i]))
            .store_unaligned(&dx[i]);
    });
    for (std::int64_t i = whole; i < n; ++i) dx[i] = f(x[i], y[i], dy[i]);
}

}  // namespace

template <class T, template <class> class Op>
void Unary<T, Op>::forward(std::span<const T> x, std::span<T> y, double c) {
    const auto f = [k = static_cast<T>(c)](auto xi) { return Op<T>::forward(xi, k); };
    if constexpr (Op<T>::simd) {
        each_simd(x, y, f);
    } else {
        each(x, y, f);
    }
}

template <class T, template <class> class Op>
void Unary<T, Op>::backward(std::span<const T> x, std::span<const T> y, std::span<const T> dy,
                            std::span<T> dx, double c) {
    const auto f = [k = static_cast<T>(c)](auto xi, auto yi, auto dyi) {
        return Op<T>::backward(xi, yi, dyi, k);
    };
    if constexpr (Op<T>::simd) {
        each_simd(x, y, dy, dx, f);
    } else {
        each(x, y, dy, dx, f);
    }
}

// float for training, double for gradcheck.
template struct Unary<float, Neg>;
template struct Unary<double, Neg>;
template struct Unary<float, Exp>;
template struct Unary<double, Exp>;
template struct Unary<float, Log>;
template struct Unary<double, Log>;
template struct Unary<float, Sqrt>;
template struct Unary<double, Sqrt>;
template struct Unary<float, Tanh>;
template struct Unary<double, Tanh>;
template struct Unary<float, Sigmoid>;
template struct Unary<double, Sigmoid>;
template struct Unary<float, Relu>;
template struct Unary<double, Relu>;
template struct Unary<float, Gelu>;
template struct Unary<double, Gelu>;
template struct Unary<float, PowScalar>;
template struct Unary<double, PowScalar>;
template struct Unary<float, AddScalar>;
template struct Unary<double, AddScalar>;
template struct Unary<float, MulScalar>;
template struct Unary<double, MulScalar>;

}  // namespace tapegrad::kernels
