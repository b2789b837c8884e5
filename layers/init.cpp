#include "layers/init.hpp"

#include <cmath>

namespace tapegrad::init {

Fans compute_fans(const Shape& shape) {
    if (shape.rank() == 0) return {1, 1};
    if (shape.rank() == 1) return {double(shape[0]), double(shape[0])};
    double field = 1;
    for (std::size_t i = 0; i + 2 < shape.rank(); ++i) field *= double(shape[i]);
    return {double(shape[shape.rank() - 2]) * field, double(shape.back()) * field};
}

Tensor glorot_uniform(const Shape& shape, DType dtype, Generator& gen) {
    const Fans fans = compute_fans(shape);
    const double limit = std::sqrt(6.0 / (fans.in + fans.out));
    Tensor t = Tensor::empty(shape, dtype);
    dispatch("glorot_uniform", dtype, [&]<class T>() { gen.fill_uniform(t.span<T>(), -limit, limit); });
    return t;
}

Tensor normal(const Shape& shape, double mean, double stddev, DType dtype, Generator& gen) {
    Tensor t = Tensor::empty(shape, dtype);
    dispatch("normal", dtype, [&]<class T>() { gen.fill_normal(t.span<T>(), mean, stddev); });
    return t;
}

Tensor zeros(const Shape& shape, DType dtype) { return tapegrad::zeros(shape, {.dtype = dtype}); }
Tensor ones(const Shape& shape, DType dtype) { return tapegrad::ones(shape, {.dtype = dtype}); }

}  // namespace tapegrad::init
