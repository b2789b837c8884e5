// Dense: keras.layers.Dense. y = activation(x @ kernel + bias) over the last axis of any input:
// x [..., in_features] -> [..., units].
//   kernel [in_features, units]  glorot_uniform (Keras default: U(±√(6/(in+units))))
//   bias   [units]               zeros, only when use_bias
// Keras builds lazily from the first input; we take in_features at construction so parameters
// exist (and can be loaded, counted, converted) before the first call:
//   Dense fc(16, {.units = 4, .activation = Activation::relu});  y = fc(x);  // x [B,T,16] ->
//   [B,T,4]
#pragma once

#include <cstdint>
#include <optional>

#include "layers/activation.hpp"
#include "layers/layer.hpp"

namespace tapegrad {

struct DenseOptions {
    std::int64_t units = 0;  // output features, > 0
    Activation activation = Activation::none;
    bool use_bias = true;
    std::optional<std::uint64_t> seed;  // kernel initializer seed; unset = global generator
    DType dtype = f32;
};

class Dense : public Layer {
public:
    Dense(std::int64_t in_features, DenseOptions options);
    Tensor forward(const Tensor& x) override;

    const Tensor& kernel() const { return kernel_; }
    const Tensor& bias() const { return bias_; }  // undefined without use_bias
    const DenseOptions& options() const { return opt_; }

private:
    DenseOptions opt_;
    Tensor kernel_, bias_;
};

}  // namespace tapegrad
