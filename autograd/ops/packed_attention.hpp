// GPT's causal self-attention as one op on the packed q/k/v projection, so that no head is copied
// out of it and no head's output copied back (the loops: core/kernels/packed_attention.cpp).
#pragma once

#include <array>
#include <cstdint>

#include "core/random.hpp"
#include "core/tensor.hpp"

namespace tapegrad {

// Dropout on the attention weights inside packed_self_attention: rate 0 = none; otherwise the
// mask is drawn from *generator, as the dropout op draws it (the same stream gives the same mask).
struct AttentionDropout {
    double rate = 0.0;
    Generator* generator = nullptr;
};

// qkv [B,T,3C] as c_attn makes it (row t = q | k | v, head h in columns h·D.. of each, C = H·D)
// -> y [B,T,C] with y[b,t,h·D:(h+1)·D] = dropout(softmax(scale·q_h·k_hᵀ, causal: keys j <= t))·v_h:
// the values of packed_heads, dot-product attention and merge_heads, whose copies it skips.
// Backward saves the softmax weights [B,H,T,T] (with dropout also the mask and the dropped
// weights) and reads qkv.
Tensor packed_self_attention(const Tensor& qkv, std::int64_t heads, double scale, bool causal,
                             AttentionDropout dropout = {});

// q, k, v [B,H,T,D] of qkv [B,T,3C], as recorded copies: the path packed_self_attention does
// not cover (a KV cache, kept weights).
std::array<Tensor, 3> packed_heads(const Tensor& qkv, std::int64_t heads);
// x [B,T,H·D] -> [B,H,T,D], each head's columns to the front, and back again (recorded).
Tensor split_heads(const Tensor& x, std::int64_t heads);
Tensor merge_heads(const Tensor& x);

}  // namespace tapegrad
