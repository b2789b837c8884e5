// An encoder-only transformer that labels every position of a token sequence: token embedding +
// learned positions -> N TransformerEncoderBlocks (MultiHeadAttention inside) -> LayerNorm ->
// Dense to the classes. ids i32 [B,T] -> logits [B,T,classes]. The toy tasks (copy, reverse,
// sort) are learned by this model; every position sees every other (no causal mask).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "layers/dense.hpp"
#include "layers/embedding.hpp"
#include "layers/layer_norm.hpp"
#include "layers/positional.hpp"
#include "layers/transformer.hpp"

namespace tapegrad {

struct SequenceTransformerOptions {
    std::int64_t vocab_size = 10;
    std::int64_t classes = 10;
    std::int64_t max_len = 16;
    std::int64_t width = 64;      // d_model
    std::int64_t layers = 2;
    std::int64_t heads = 4;       // key_dim = width / heads
    double dropout = 0.0;
    std::optional<std::uint64_t> seed;
};

class SequenceTransformer : public Module {
public:
    explicit SequenceTransformer(SequenceTransformerOptions options);
    Tensor operator()(const Tensor& ids);
    const SequenceTransformerOptions& options() const { return opt_; }
    // Every block's self-attention weights for ids i32 [B,T]: one [B,H,T,T] tensor per layer,
    // from MultiHeadAttention's return_attention_scores, without dropout and without a tape.
    std::vector<Tensor> attention_maps(const Tensor& ids);

private:
    SequenceTransformerOptions opt_;
    Generator gen_;  // seeds every child's initialiser, in construction order
    Embedding embed_;
    LearnedPositionalEmbedding positions_;
    ModuleList<TransformerEncoderBlock> blocks_;
    LayerNorm norm_;
    Dense head_;
};

}  // namespace tapegrad
