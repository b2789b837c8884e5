// Embedding: keras.layers.Embedding / torch.nn.Embedding. ids i32 [...] -> [..., output_dim],
// row ids[i] of weight [input_dim, output_dim] (named "weight" as PyTorch and HF GPT-2's wte).
// Initialised normal(0, 0.02) as GPT-2; EmbeddingInit::uniform with scale 0.05 gives Keras'
// default U(±0.05), normal with scale 1 gives PyTorch's N(0, 1).
//   Embedding wte(50257, 768);  Tensor x = wte(ids);  // ids [B,T] -> [B,T,768]
#pragma once

#include <cstdint>
#include <optional>

#include "layers/layer.hpp"

namespace tapegrad {

enum class EmbeddingInit { normal, uniform };

struct EmbeddingOptions {
    EmbeddingInit init = EmbeddingInit::normal;
    double scale = 0.02;                // the normal's stddev, or the uniform's limit
    std::optional<std::uint64_t> seed;  // unset = global generator
    DType dtype = f32;
};

class Embedding : public Layer {
public:
    Embedding(std::int64_t input_dim, std::int64_t output_dim, EmbeddingOptions options = {});
    Tensor forward(const Tensor& ids) override;  // ids outside [0, input_dim) are a ValueError
    const Tensor& weight() const { return weight_; }

private:
    Tensor weight_;
};

}  // namespace tapegrad
