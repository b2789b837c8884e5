// Self-attention straight from the packed projection qkv [B,T,3C] that GPT's c_attn makes: row t
// holds q | k | v, each C = H·D wide, head h in columns h·D .. (h+1)·D of each. Every per-head
// product reads its operands in place through BLAS leading dimensions (3C for qkv, C for y and
// dy), so no head is copied out of qkv or back into y.
#pragma once

#include <cstdint>

namespace tapegrad::kernels {

struct PackedAttentionLayout {
    std::int64_t batch, time, heads, head_size;  // B, T, H, D
    bool causal = false;                         // query i sees keys j <= i
    bool causal_blocks = false;  // causal products skip the blocks above the diagonal (CausalGemm)
};

// The stages of both passes, each over all heads; attention dropout, when on, runs between them
// (used = dropout(w), dW = dropout's backward of dUsed), else used = w and dW = dUsed.
//   weights:      w [B,H,T,T] = softmax(scale·q_h·k_hᵀ), causal: keys j <= i
//   mix:          y [B,T,C], head h's columns = used·v_h
//   values_grad:  dUsed [B,H,T,T] = dy_h·v_hᵀ, and dv_h = usedᵀ·dy_h into dqkv
//   scores_grad:  dS = scale·w ⊙ (dW − Σ_keys dW⊙w) in place of dW, then dq_h = dS·k_h and
//                 dk_h = dSᵀ·q_h into dqkv
// dqkv [B,T,3C] is overwritten: values_grad writes the v columns, scores_grad the q and k ones.
template <class T>
struct PackedAttention {
    static void weights(const T* qkv, T* w, const PackedAttentionLayout& n, T scale);
    static void mix(const T* used, const T* qkv, T* y, const PackedAttentionLayout& n);
    static void values_grad(const T* qkv, const T* used, const T* dy, T* dused, T* dqkv,
                            const PackedAttentionLayout& n);
    static void scores_grad(const T* qkv, const T* w, T* dw, T* dqkv,
                            const PackedAttentionLayout& n, T scale);
};

}  // namespace tapegrad::kernels
