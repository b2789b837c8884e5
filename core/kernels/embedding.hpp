// Loops of the embedding lookup: a gather of rows forward, a scatter-add of rows backward.
#pragma once

#include <cstdint>

namespace tapegrad::kernels {

// weight [V, C], ids [n] (already checked to be in [0, V)).
// forward: out[i] = weight[ids[i]].  backward: dweight[ids[i]] += dy[i], repeated ids summed.
template <class T>
struct Embedding {
    static void forward(const T* weight, const std::int32_t* ids, T* out, std::int64_t n,
                        std::int64_t width);
    static void backward(const T* dy, const std::int32_t* ids, T* dweight, std::int64_t n,
                         std::int64_t width);
};

}  // namespace tapegrad::kernels
