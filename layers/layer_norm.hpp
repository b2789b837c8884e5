// LayerNorm: torch.nn.LayerNorm / keras.layers.LayerNormalization over the last axis.
//   y = (x − mean) / √(var + epsilon) · weight + bias,  x [..., C] -> [..., C], var biased (÷C)
//   weight [C] ones, bias [C] zeros: PyTorch and HF names; Keras calls them gamma and beta.
// epsilon defaults to 1e-5 as PyTorch and GPT-2 (Keras' default is 1e-3).
//   LayerNorm ln(768);  LayerNorm ln(512, {.epsilon = 1e-6});
#pragma once

#include <cstdint>

#include "layers/layer.hpp"

namespace tapegrad {

struct LayerNormOptions {
    double epsilon = 1e-5;
    DType dtype = f32;
};

class LayerNorm : public Layer {
public:
    explicit LayerNorm(std::int64_t normalized_size, LayerNormOptions options = {});
    Tensor forward(const Tensor& x) override;

    const Tensor& weight() const { return weight_; }
    const Tensor& bias() const { return bias_; }

private:
    LayerNormOptions opt_;
    Tensor weight_, bias_;
};

}  // namespace tapegrad
