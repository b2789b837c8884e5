// Transformer encoder and decoder blocks ("Attention Is All You Need"), built like the TensorFlow
// Transformer tutorial (tensorflow.org/text/tutorials/transformer) from keras-style layers:
//   encoder: x = ln(x + self_attention(x, x));  x = ln(x + ffn(x))
//   decoder: x = ln(x + causal_self_attention(x, x));  x = ln(x + cross_attention(x, context));
//            x = ln(x + ffn(x))
//   ffn(x) = dropout(Dense(d_model)(relu(Dense(dff)(x))))
// That is post-LN (the paper and the tutorial). norm_first = true gives pre-LN, as PyTorch's
// nn.TransformerEncoderLayer(norm_first=True): x = x + sublayer(ln(x)) (the context is not normed).
// Attention is MultiHeadAttention with key_dim per head and dropout on its weights. x [B,T,d_model]
// -> [B,T,d_model]; context [B,Tc,context_dim]. Masks are b8, 1 = real token: `mask` [B,T] pads x
// (query and key side of self-attention, query side of cross-attention), `context_mask` [B,Tc]
// pads the context. Children: self_attention, self_attention_norm, [cross_attention,
// cross_attention_norm,] ffn (dense, dense_1, dropout), ffn_norm.
//   TransformerEncoderBlock enc(128, {.num_heads = 4, .dff = 512});  y = enc(x, {.mask = pad});
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "layers/dense.hpp"
#include "layers/dropout.hpp"
#include "layers/layer.hpp"
#include "layers/layer_norm.hpp"
#include "layers/multi_head_attention.hpp"

namespace tapegrad {

struct TransformerBlockOptions {
    std::int64_t num_heads = 0;  // required
    std::int64_t dff = 0;        // the feed-forward hidden width, required
    double dropout_rate = 0.1;   // attention weights and the ffn output, training only
    bool norm_first = false;     // false: post-LN (tutorial); true: pre-LN
    std::int64_t key_dim = 0;    // per head; 0 = d_model as the tutorial (PyTorch: d_model/heads)
    double layer_norm_epsilon = 1e-3;  // Keras' LayerNormalization default, as the tutorial uses
    Activation activation = Activation::relu;
    std::int64_t context_dim = 0;       // decoder: the context's width; 0 = d_model
    std::optional<std::uint64_t> seed;  // initialisation and dropout; unset = global generator
};

struct TransformerCall {
    Tensor mask;                   // b8 [B,T]: 0 marks padding in x
    Tensor context_mask;           // b8 [B,Tc]: 0 marks padding in the context (decoder)
    std::optional<bool> training;  // dropout on/off; unset = the module's train()/eval()
};

// Dense(dff, activation) -> Dense(d_model) -> Dropout, the position-wise feed-forward network.
class FeedForward : public Layer {
public:
    FeedForward(std::int64_t d_model, const TransformerBlockOptions& options, Generator& gen);
    Tensor forward(const Tensor& x) override { return (*this)(x, std::nullopt); }
    Tensor operator()(const Tensor& x, std::optional<bool> training);

private:
    Dense dense_, dense_1_;
    Dropout dropout_;
};

// What both blocks share: options, the self-attention and feed-forward sublayers with their norms.
class TransformerBlockBase : public Module {
public:
    // The self-attention sublayer and the norm in front of it (pre-LN) or after it (post-LN), for
    // reading attention maps.
    MultiHeadAttention& self_attention() { return self_attention_; }
    LayerNorm& self_attention_norm() { return self_attention_norm_; }

protected:
    TransformerBlockBase(std::string type_name, std::int64_t d_model,
                         TransformerBlockOptions options);
    // Registers the children in the order they run; the encoder has no cross-attention (nullptr).
    void register_children(MultiHeadAttention* cross_attention, LayerNorm* cross_attention_norm);
    // The residual sublayers, post-LN or pre-LN as opt_.norm_first says.
    Tensor self_attention_sublayer(const Tensor& x, const TransformerCall& call, bool causal);
    Tensor cross_attention_sublayer(MultiHeadAttention& attention, LayerNorm& norm, const Tensor& x,
                                    const Tensor& context, const TransformerCall& call);
    Tensor ffn_sublayer(const Tensor& x, const TransformerCall& call);
    // x [B,T,width], else a ShapeError naming the block.
    void expect_sequence(const char* name, const Tensor& x, std::int64_t width) const;

    TransformerBlockOptions opt_;  // with key_dim and context_dim resolved
    std::int64_t d_model_;
    Generator gen_;  // draws the initial weights and the dropout seeds

private:
    MultiHeadAttention self_attention_;
    LayerNorm self_attention_norm_;
    FeedForward ffn_;
    LayerNorm ffn_norm_;
};

class TransformerEncoderBlock : public TransformerBlockBase {
public:
    TransformerEncoderBlock(std::int64_t d_model, TransformerBlockOptions options);
    Tensor operator()(const Tensor& x, const TransformerCall& call = {});
};

class TransformerDecoderBlock : public TransformerBlockBase {
public:
    TransformerDecoderBlock(std::int64_t d_model, TransformerBlockOptions options);
    // x [B,T,d_model] attends causally to itself, then to context [B,Tc,context_dim].
    Tensor operator()(const Tensor& x, const Tensor& context, const TransformerCall& call = {});

private:
    MultiHeadAttention cross_attention_;
    LayerNorm cross_attention_norm_;
};

}  // namespace tapegrad
