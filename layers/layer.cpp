#include "layers/layer.hpp"

#include <fmt/format.h>

namespace tapegrad {

void Layer::expect_features(const Tensor& x, std::int64_t size, std::string_view against,
                            const Shape& against_shape) const {
    if (!x.defined())
        throw ValueError(fmt::format("{}: the input is an undefined tensor", describe()));
    if (!is_floating(x.dtype()))
        throw ValueError(fmt::format("{}: input {} is {}; expected f32 or f64", describe(),
                                     x.shape(), dtype_name(x.dtype())));
    const std::int64_t got = x.rank() == 0 ? 0 : x.shape().back();
    if (x.rank() == 0 || got != size)
        throw_shape_error(describe(),
                          fmt::format("input {}, {} {}", x.shape(), against, against_shape),
                          fmt::format("input features differ ({} vs {})", got, size));
}

void Layer::expect_argument(bool ok, std::string_view what) const {
    if (!ok) throw ValueError(fmt::format("{}: {}", describe(), what));
}

Generator layer_generator(std::optional<std::uint64_t> seed) {
    return Generator(seed ? *seed : global_generator().next_u64());
}

}  // namespace tapegrad
