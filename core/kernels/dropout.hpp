// Loops of inverted dropout.
#pragma once

#include <cstdint>

namespace tapegrad {
class Generator;
}

namespace tapegrad::kernels {

// forward: keep[i] = 1 with probability 1 − rate (a function of gen's state alone, which it
// advances), y = x·keep/(1 − rate).
// backward: dx = dy·keep/(1 − rate).
template <class T>
struct Dropout {
    static void forward(const T* x, std::uint8_t* keep, T* y, std::int64_t n, double rate,
                        Generator& gen);
    static void backward(const T* dy, const std::uint8_t* keep, T* dx, std::int64_t n, double rate);
};

}  // namespace tapegrad::kernels
