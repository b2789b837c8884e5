#include "core/kernels/dropout.hpp"

#include <cmath>

#include "core/kernels/parallel.hpp"
#include "core/random.hpp"

namespace tapegrad::kernels {
namespace {

// y = x·keep·scale, in one vectorised loop.
template <class T>
void apply(const T* x, const std::uint8_t* keep, T* y, std::int64_t n, double rate) {
    const T scale = static_cast<T>(1.0 / (1.0 - rate));
    parallel_for_simd(n, [&](std::int64_t i) { y[i] = keep[i] ? x[i] * scale : T(0); });
}

}  // namespace

// One seed is drawn from `gen`; element i's draw is splitmix64's output function applied to the
// counter seed + i·γ. Being stateless, the draws vectorise and split across threads, and the mask
// depends only on gen's state, never on the thread count. Keep when draw/2⁶⁴ >= rate (top 32 bits).
template <class T>
void Dropout<T>::forward(const T* x, std::uint8_t* keep, T* y, std::int64_t n, double rate,
                         Generator& gen) {
    const std::uint64_t seed = gen.next_u64();
    const auto cut = static_cast<std::uint64_t>(std::ceil(rate * 0x1.0p32));
    parallel_for_simd(n, [&](std::int64_t i) {
        std::uint64_t z = seed + static_cast<std::uint64_t>(i) * 0x9e3779b97f4a7c15ULL;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        keep[i] = ((z ^ (z >> 31)) >> 32) >= cut;
    });
    apply(x, keep, y, n, rate);
}

template <class T>
void Dropout<T>::backward(const T* dy, const std::uint8_t* keep, T* dx, std::int64_t n,
                          double rate) {
    apply(dy, keep, dx, n, rate);
}

template struct Dropout<float>;
template struct Dropout<double>;

}  // namespace tapegrad::kernels
