// The elementwise unary kernels alone: forward and backward over 2^22 floats (a GPT-2 small MLP
// activation at batch 4 × 256 tokens), median of 21 runs each, so a change to core/kernels/unary
// can be timed without the rest of a training step.
#include <fmt/format.h>

#include <cstdint>
#include <vector>

#include "core/kernels/unary.hpp"
#include "median_time.hpp"

namespace {

using tapegrad::bench::median_ms;
using tapegrad::kernels::Unary;

template <template <class> class K>
void time_kernel(const char* name, double c) {
    constexpr std::size_t n = std::size_t{1} << 22;
    std::vector<float> x(n), y(n), dy(n, 0.5f), dx(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = 0.1f + static_cast<float>(i % 1000) * 0.003f;
    const double forward = median_ms([&] { Unary<float, K>::forward(x, y, c); });
    const double backward = median_ms([&] { Unary<float, K>::backward(x, y, dy, dx, c); });
    fmt::print(R"({{"kernel":"{}","forward_ms":{:.3f},"backward_ms":{:.3f}}})"
               "\n",
               name, forward, backward);
}

}  // namespace

int main() {
    using namespace tapegrad::kernels;
    time_kernel<Gelu>("gelu", 0.0);
    time_kernel<Tanh>("tanh", 0.0);
    time_kernel<Exp>("exp", 0.0);
    time_kernel<Sigmoid>("sigmoid", 0.0);
    time_kernel<Relu>("relu", 0.0);
    time_kernel<Log>("log", 0.0);
    time_kernel<PowScalar>("pow", 2.0);
    time_kernel<MulScalar>("mul_scalar", 0.5);
}
