// Loops of the losses. Cross-entropy is fused with log-softmax: it never forms the probabilities
// in forward, and backward rebuilds them from the saved log-sum-exp of each row.
#pragma once

#include <cstdint>

namespace tapegrad::kernels {

// logits [rows, C], targets [rows] (already checked to be in [0, C) or ignore).
// forward: lse[r] = log Σ_c exp(logits[r,c]); returns Σ (lse[r] − logits[r, target]) over the
// rows whose target is not `ignore`.
// backward: dlogits[r] = g·(softmax(logits[r]) − onehot(target)), 0 on ignored rows.
template <class T>
struct CrossEntropy {
    static double forward(const T* logits, const std::int32_t* targets, T* lse, std::int64_t rows,
                          std::int64_t classes, std::int32_t ignore);
    static void backward(const T* logits, const std::int32_t* targets, const T* lse, T g,
                         T* dlogits, std::int64_t rows, std::int64_t classes, std::int32_t ignore);
};

// forward: returns Σ (p − t)².  backward: dp = g·(p − t) (g = 2·dy/n for the mean).
template <class T>
struct SquaredError {
    static double forward(const T* p, const T* t, std::int64_t n);
    static void backward(const T* p, const T* t, T g, T* dp, std::int64_t n);
};

}  // namespace tapegrad::kernels
