#include "optim/clip.hpp"

#include <fmt/format.h>

#include <cmath>

#include "core/kernels/parallel.hpp"

namespace tapegrad {
namespace {

// Σ g² in double, so a float32 model with millions of gradients keeps the norm exact enough.
template <class T>
double sum_of_squares(const T* g, std::int64_t n) {
    return kernels::parallel_sum(n, n, [&](std::int64_t i) { return static_cast<double>(g[i]) * g[i]; });
}

template <class T>
void scale(T* g, std::int64_t n, T factor) {
    kernels::parallel_for_simd(n, [&](std::int64_t i) { g[i] *= factor; });
}

}  // namespace

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
    if (!(max_norm >= 0.0))
        throw ValueError(fmt::format("clip_grad_norm: max_norm must be >= 0 ({})", max_norm));
    double total = 0.0;
    for (const Tensor& p : params) {
        const Tensor g = p.grad();
        if (!g.defined()) continue;
        total += dispatch("clip_grad_norm", g.dtype(),
                          [&]<class T>() { return sum_of_squares(g.data<T>(), g.numel()); });
    }
    const double norm = std::sqrt(total);
    const double factor = max_norm / (norm + 1e-6);  // torch's epsilon
    if (factor >= 1.0) return norm;
    for (const Tensor& p : params) {
        const Tensor g = p.grad();
        if (!g.defined()) continue;
        dispatch("clip_grad_norm", g.dtype(),
                 [&]<class T>() { scale(g.data<T>(), g.numel(), T(factor)); });
    }
    return norm;
}

}  // namespace tapegrad
