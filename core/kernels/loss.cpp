#include "core/kernels/loss.hpp"

#include "core/kernels/parallel.hpp"
#include "core/kernels/softmax.hpp"

namespace tapegrad::kernels {

template <class T>
double CrossEntropy<T>::forward(const T* logits, const std::int32_t* targets, T* lse,
                                std::int64_t rows, std::int64_t classes, std::int32_t ignore) {
    // summed in double: a mean over many rows loses float32 digits otherwise
    return parallel_sum(rows, rows * classes, [&](std::int64_t r) {
        const T* x = logits + r * classes;
        lse[r] = SoftmaxRow<T>::log_sum_exp(x, classes);
        return targets[r] != ignore ? static_cast<double>(lse[r] - x[targets[r]]) : 0.0;
    });
}

template <class T>
void CrossEntropy<T>::backward(const T* logits, const std::int32_t* targets, const T* lse, T g,
                               T* dlogits, std::int64_t rows, std::int64_t classes,
                               std::int32_t ignore) {
    parallel_for(rows, rows * classes, [&](std::int64_t r) {
        T* dx = dlogits + r * classes;
        if (targets[r] == ignore) {
            for (std::int64_t c = 0; c < classes; ++c) dx[c] = T(0);
            return;
        }
        SoftmaxRow<T>::exp_sum(logits + r * classes, dx, classes, lse[r]);  // the probabilities
#pragma omp simd
        for (std::int64_t c = 0; c < classes; ++c) dx[c] *= g;
        dx[targets[r]] -= g;
    });
}

template <class T>
double SquaredError<T>::forward(const T* p, const T* t, std::int64_t n) {
    return parallel_sum_simd(n, [&](std::int64_t i) {
        const double d = static_cast<double>(p[i]) - static_cast<double>(t[i]);
        return d * d;
    });
}

template <class T>
void SquaredError<T>::backward(const T* p, const T* t, T g, T* dp, std::int64_t n) {
    parallel_for_simd(n, [&](std::int64_t i) { dp[i] = g * (p[i] - t[i]); });
}

template struct CrossEntropy<float>;
template struct CrossEntropy<double>;
template struct SquaredError<float>;
template struct SquaredError<double>;

}  // namespace tapegrad::kernels
