#include "core/kernels/embedding.hpp"

#include <algorithm>

#include "core/kernels/parallel.hpp"

namespace tapegrad::kernels {

template <class T>
void Embedding<T>::forward(const T* weight, const std::int32_t* ids, T* out, std::int64_t n,
                           std::int64_t width) {
    parallel_for(n, n * width, [&](std::int64_t i) {
        std::copy_n(weight + static_cast<std::int64_t>(ids[i]) * width, width, out + i * width);
    });
}

// Repeated ids add into the same row, so threads split the columns, not the ids: each thread owns
// one slice of every row and no two threads ever write the same element.
template <class T>
void Embedding<T>::backward(const T* dy, const std::int32_t* ids, T* dweight, std::int64_t n,
                            std::int64_t width) {
    // Run by every thread of the team, or alone, when it owns every column.
    const auto columns_of_this_thread = [&](std::int64_t t, std::int64_t threads) {
        const std::int64_t lo = width * t / threads, hi = width * (t + 1) / threads;
        for (std::int64_t i = 0; i < n; ++i) {
            const T* src = dy + i * width;
            T* dst = dweight + static_cast<std::int64_t>(ids[i]) * width;
#pragma omp simd
            for (std::int64_t c = lo; c < hi; ++c) dst[c] += src[c];
        }
    };
    on_team_if(worth_threads(n * width), columns_of_this_thread);
}

template struct Embedding<float>;
template struct Embedding<double>;

}  // namespace tapegrad::kernels
