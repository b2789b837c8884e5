// Loops of layer normalisation over the last axis of x [rows, C].
#pragma once

#include <cstdint>

namespace tapegrad::kernels {

// forward: x̂ = (x − mean)·rstd, rstd = 1/√(var + eps) (biased variance), y = x̂·w + b;
//          mean and rstd [rows] are written for backward.
// backward, with g = dy·w: dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), dw = Σ_rows dy·x̂,
//          db = Σ_rows dy. dx, dw, db may each be null (not needed); dw and db are overwritten.
template <class T>
struct LayerNorm {
    static void forward(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd,
                        std::int64_t rows, std::int64_t width, double eps);
    static void backward(const T* x, const T* w, const T* mean, const T* rstd, const T* dy, T* dx,
                         T* dw, T* db, std::int64_t rows, std::int64_t width);
};

}  // namespace tapegrad::kernels
