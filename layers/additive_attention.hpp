// Bahdanau (additive) attention with keras.layers.AdditiveAttention's arguments and defaults.
//   query [B,Tq,D], value [B,Tv,Dv], key [B,Tv,D] (defaults to value)  ->  output [B,Tq,Dv]
//   scores[b,i,j] = Σ_d scale_d · tanh(q[b,i,d] + k[b,j,d])       (scale_d = 1 without use_scale)
//   output = softmax over Tv of the masked scores, @ V; rows of masked queries are set to 0
// Parameter: "scale" [D], glorot-uniform (limit √(3/D)), when use_scale. This is Bahdanau's
// vᵀ·tanh(W₁q + W₂k) with v = scale and without W₁, W₂: put Dense layers in front for those.
// Masks, causal masking, dropout and returned scores are as in Attention (layers/attention.hpp).
// Differences from Keras: D is a constructor argument because we build eagerly (Keras reads it
// from the query at the first call); the rest as listed in layers/attention.hpp.
#pragma once

#include <cstdint>
#include <optional>

#include "layers/attention.hpp"

namespace tapegrad {

struct AdditiveAttentionOptions {
    bool use_scale = true;              // learned vector `scale` [D] (Keras' default: on)
    double dropout = 0.0;               // on the attention weights, training only, in [0, 1)
    std::optional<std::uint64_t> seed;  // scale's initialiser and dropout; unset = global generator
};

class AdditiveAttention : public AttentionBase {
public:
    // dim: the query's (and key's) feature size D.
    explicit AdditiveAttention(std::int64_t dim, AdditiveAttentionOptions options = {});
    const AdditiveAttentionOptions& options() const { return opt_; }

private:
    Tensor scores(const Tensor& query, const Tensor& key) override;

    std::int64_t dim_;
    AdditiveAttentionOptions opt_;
    Tensor scale_;  // [D] when use_scale
};

}  // namespace tapegrad
