#include "layers/layer_norm.hpp"

#include <fmt/format.h>

#include "autograd/ops/norm.hpp"
#include "layers/init.hpp"

namespace tapegrad {

LayerNorm::LayerNorm(std::int64_t normalized_size, LayerNormOptions options)
    : Layer("LayerNorm"), opt_(options) {
    expect_argument(normalized_size > 0,
                    fmt::format("normalized_size must be positive (got {})", normalized_size));
    expect_argument(opt_.epsilon > 0,
                    fmt::format("epsilon must be positive (got {})", opt_.epsilon));
    weight_ = register_parameter("weight", init::ones({normalized_size}, opt_.dtype));
    bias_ = register_parameter("bias", init::zeros({normalized_size}, opt_.dtype));
}

Tensor LayerNorm::forward(const Tensor& x) {
    expect_features(x, weight_.shape()[0], "weight", weight_.shape());
    return remember_output(layer_norm(x, weight_, bias_, opt_.epsilon));
}

}  // namespace tapegrad
