// keras.layers.MultiHeadAttention for 3-D inputs, with Keras' arguments, defaults and weights.
//   query [B,Tq,E_q], value [B,Tv,E_v], key [B,Tv,E_k] (defaults to value)  ->  [B,Tq,E_out]
//   Q = query·Wq + bq [B,Tq,H,k]   K = key·Wk + bk [B,Tv,H,k]   V = value·Wv + bv [B,Tv,H,v]
//   P = softmax over Tv of (Q·Kᵀ/√k, masked) [B,H,Tq,Tv];  output = (dropout(P)·V)·Wo + bo
// Parameters, in Keras' get_weights order: query.kernel [E_q,H,k], query.bias [H,k],
// key.kernel [E_k,H,k], key.bias [H,k], value.kernel [E_v,H,v], value.bias [H,v],
// attention_output.kernel [H,v,E_out], attention_output.bias [E_out]; kernels glorot-uniform
// (Keras' fans of the 3-D shapes), biases zero, no biases without use_bias.
// Masks (AttentionCall, 1 = may attend): attention_mask [B,Tq,Tv] ([Tq,Tv] and [B,H,Tq,Tv] too),
// query_mask [B,Tq], value_mask [B,Tv] and the causal mask are ANDed; masked weights are 0 after
// the softmax, so a fully masked query row outputs attention_output.bias. Returned scores are the
// weights P [B,H,Tq,Tv] before dropout. See layers/attention_core.hpp.
// Differences from Keras: the input feature sizes are constructor arguments (we build eagerly,
// Keras at the first call); output_shape is one int; no attention_axes (attention runs over axis
// 1), no use_gate, sliding_window or flash_attention; key_mask is value_mask; the projections run
// as one gemm each on the kernels viewed as [E,H·k], which is Keras' einsum.
#pragma once

#include <cstdint>
#include <optional>

#include "core/random.hpp"
#include "layers/attention_core.hpp"
#include "layers/module.hpp"

namespace tapegrad {

struct MultiHeadAttentionOptions {
    std::int64_t num_heads = 0;  // H, required, > 0
    std::int64_t key_dim = 0;    // k: size of each query and key head, required, > 0
    std::int64_t value_dim = 0;  // v: size of each value head; 0 = key_dim
    double dropout = 0.0;        // on the attention weights, training only, in [0, 1)
    bool use_bias = true;
    std::int64_t output_shape = 0;     // E_out; 0 = E_q
    std::int64_t value_input_dim = 0;  // E_v, value's feature size; 0 = E_q
    std::int64_t key_input_dim = 0;    // E_k, key's feature size; 0 = E_v (key defaults to value)
    std::optional<std::uint64_t>
        seed;  // kernels' initialiser and dropout; unset = global generator
};

class MultiHeadAttention : public Module {
public:
    // query_dim: E_q, the query's feature size.
    MultiHeadAttention(std::int64_t query_dim, MultiHeadAttentionOptions options);
    // key undefined = value. Returns {output [B,Tq,E_out], scores [B,H,Tq,Tv] if asked for}.
    AttentionResult operator()(const Tensor& query, const Tensor& value,
                               const Tensor& key = Tensor(), const AttentionCall& call = {});
    // The options with every 0 default resolved to its size.
    const MultiHeadAttentionOptions& options() const { return opt_; }

private:
    // Registers "<name>.kernel" and, with use_bias, "<name>.bias".
    void add_projection(const char* name, const Shape& kernel_shape, const Shape& bias_shape,
                        Tensor& kernel, Tensor& bias);
    // The checks of a call; returns the masks with the head axis added to the attention_mask.
    AttentionMasks check_call(const Tensor& query, const Tensor& value, const Tensor& key,
                              const AttentionCall& call) const;

    std::int64_t query_dim_;
    MultiHeadAttentionOptions opt_;
    Generator generator_;
    Tensor query_kernel_, query_bias_, key_kernel_, key_bias_;
    Tensor value_kernel_, value_bias_, output_kernel_, output_bias_;
};

}  // namespace tapegrad
