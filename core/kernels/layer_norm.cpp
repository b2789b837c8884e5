#include "core/kernels/layer_norm.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/kernels/parallel.hpp"

namespace tapegrad::kernels {

// Two passes per row (mean, then squared deviations) instead of E[x²] − E[x]², which cancels
// badly in float32 when |mean| is large next to the spread.
template <class T>
void LayerNorm<T>::forward(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd,
                           std::int64_t rows, std::int64_t width, double eps) {
    const T inv_width = T(1) / static_cast<T>(width);
    parallel_for(rows, rows * width, [&](std::int64_t r) {
        const T* xr = x + r * width;
        T* yr = y + r * width;
        T s = 0, v = 0;
#pragma omp simd reduction(+ : s)
        for (std::int64_t c = 0; c < width; ++c) s += xr[c];
        const T mu = s * inv_width;
#pragma omp simd reduction(+ : v)
        for (std::int64_t c = 0; c < width; ++c) v += (xr[c] - mu) * (xr[c] - mu);
        const T rs = T(1) / std::sqrt(v * inv_width + static_cast<T>(eps));
#pragma omp simd
        for (std::int64_t c = 0; c < width; ++c) yr[c] = (xr[c] - mu) * rs * w[c] + b[c];
        mean[r] = mu;
        rstd[r] = rs;
    });
}

namespace {

// dx for one row: rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·w.
template <class T>
void row_dx(const T* x, const T* w, const T* dy, T* dx, T mu, T rs, std::int64_t width) {
    T sg = 0, sgx = 0;
#pragma omp simd reduction(+ : sg, sgx)
    for (std::int64_t c = 0; c < width; ++c) {
        const T g = dy[c] * w[c];
        sg += g;
        sgx += g * (x[c] - mu) * rs;
    }
    const T mg = sg / static_cast<T>(width), mgx = sgx / static_cast<T>(width);
#pragma omp simd
    for (std::int64_t c = 0; c < width; ++c)
        dx[c] = rs * (dy[c] * w[c] - mg - (x[c] - mu) * rs * mgx);
}

}  // namespace

// dw and db sum over rows in a fixed order whatever the number of threads: the rows are cut into
// at most sum_pieces pieces by their count alone, each piece sums into its own slice of `parts`,
// and the slices are added in order afterwards.
template <class T>
void LayerNorm<T>::backward(const T* x, const T* w, const T* mean, const T* rstd, const T* dy,
                            T* dx, T* dw, T* db, std::int64_t rows, std::int64_t width) {
    const bool params = dw != nullptr || db != nullptr;
    const std::int64_t pieces = std::min(rows, sum_pieces);
    std::vector<T> parts(params ? static_cast<std::size_t>(pieces * 2 * width) : 0, T(0));
    parallel_for(pieces, rows * width, [&](std::int64_t p) {
        T* pw = params ? parts.data() + p * 2 * width : nullptr;
        for (std::int64_t r = rows * p / pieces; r < rows * (p + 1) / pieces; ++r) {
            const T* xr = x + r * width;
            const T* dyr = dy + r * width;
            if (dx) row_dx(xr, w, dyr, dx + r * width, mean[r], rstd[r], width);
            if (!pw) continue;
#pragma omp simd
            for (std::int64_t c = 0; c < width; ++c) {
                pw[c] += dyr[c] * (xr[c] - mean[r]) * rstd[r];
                pw[width + c] += dyr[c];
            }
        }
    });
    for (std::int64_t c = 0; c < width && params; ++c) {
        T sw = 0, sb = 0;
        for (std::int64_t p = 0; p < pieces; ++p) {
            sw += parts[p * 2 * width + c];
            sb += parts[p * 2 * width + width + c];
        }
        if (dw) dw[c] = sw;
        if (db) db[c] = sb;
    }
}

template struct LayerNorm<float>;
template struct LayerNorm<double>;

}  // namespace tapegrad::kernels
