#include "layers/dense.hpp"

#include <fmt/format.h>

#include "autograd/ops/matmul.hpp"
#include "layers/init.hpp"

namespace tapegrad {

Dense::Dense(std::int64_t in_features, DenseOptions options) : Layer("Dense"), opt_(options) {
    expect_argument(in_features > 0,
                    fmt::format("in_features must be positive (got {})", in_features));
    expect_argument(opt_.units > 0, fmt::format("units must be positive (got {})", opt_.units));
    Generator gen = layer_generator(opt_.seed);
    kernel_ = register_parameter("kernel",
                                 init::glorot_uniform({in_features, opt_.units}, opt_.dtype, gen));
    if (opt_.use_bias) bias_ = register_parameter("bias", init::zeros({opt_.units}, opt_.dtype));
}

Tensor Dense::forward(const Tensor& x) {
    expect_features(x, kernel_.shape()[0], "kernel", kernel_.shape());
    return remember_output(activate(opt_.activation, linear(x, kernel_, bias_)));
}

}  // namespace tapegrad
