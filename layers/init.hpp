// Initializers with Keras' names and formulas. All draw from a Generator: the global one
// (core/random.hpp, reset by manual_seed) unless a layer is given its own seed.
#pragma once

#include <cstdint>
#include <optional>

#include "core/random.hpp"
#include "core/tensor.hpp"

namespace tapegrad::init {

// Keras' fans: for rank 2 [in, out]; for higher ranks the leading axes are a receptive field,
// fan_in = shape[-2]·field, fan_out = shape[-1]·field; rank 1 uses the one size for both.
struct Fans {
    double in, out;
};
Fans compute_fans(const Shape& shape);

// U(−limit, limit), limit = √(6 / (fan_in + fan_out)): Keras' default kernel initializer.
Tensor glorot_uniform(const Shape& shape, DType dtype = f32, Generator& gen = global_generator());
Tensor normal(const Shape& shape, double mean, double stddev, DType dtype = f32, Generator& gen = global_generator());
Tensor zeros(const Shape& shape, DType dtype = f32);
Tensor ones(const Shape& shape, DType dtype = f32);

}  // namespace tapegrad::init
