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

// forward:  w [B,H,T,T] = softmax(scale·q_h·k_hᵀ) (causal: keys j <= i), y [B,T,C] with head h's
//           columns = w·v_h.
// backward: dqkv [B,T,3C] (overwritten) from dy [B,T,C]; dw [B,H,T,T] is scratch.
//           dW = dy_h·v_hᵀ, dS = scale·w ⊙ (dW − Σ dW⊙w), dq = dS·k, dk = dSᵀ·q, dv = wᵀ·dy_h.
template <class T>
struct PackedAttention {
    static void forward(const T* qkv, T* w, T* y, const PackedAttentionLayout& n, T scale);
    static void backward(const T* qkv, const T* w, const T* dy, T* dw, T* dqkv,
                         const PackedAttentionLayout& n, T scale);
};

}  // namespace tapegrad::kernels
