// Attention masks: b8 tensors where 1 means "may attend" (Keras' polarity, also PyTorch's
// F.scaled_dot_product_attention bool mask). PyTorch's nn.MultiheadAttention attn_mask and
// key_padding_mask use the opposite polarity (1 = blocked): invert those before passing them here.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/tensor.hpp"

namespace tapegrad {

// [B, T]: 1 where t < lengths[b]: the padding mask of right-padded sequences.
Tensor padding_mask(std::span<const std::int64_t> lengths, std::int64_t max_length);

// [Tq, Tv]: 1 where j <= i. Query i sees keys 0..i, aligned top-left when Tq != Tv, as Keras'
// use_causal_mask (so row 0 always sees key 0 and causality alone never masks a whole row).
Tensor causal_mask(std::int64_t tq, std::int64_t tv);

// a AND b with NumPy broadcasting. An undefined operand stands for "no mask" (all ones), so the
// other one is returned as it is; both undefined gives an undefined tensor.
Tensor mask_and(const Tensor& a, const Tensor& b);

// NOT mask: turns a PyTorch nn.MultiheadAttention attn_mask or key_padding_mask (true = blocked)
// into ours (true = may attend), and back.
Tensor invert_mask(const Tensor& mask);

// Which query rows keep at least one key: mask [..., Tq|1, Tv|1] (broadcastable to [..., Tq, Tv])
// together with the causal rule when `causal`. Returns b8 [..., Tq, 1] with 0 on fully masked rows,
// or an undefined tensor when no row is fully masked (so callers can skip the zeroing).
Tensor rows_with_keys(const Tensor& mask, bool causal, std::int64_t tq, std::int64_t tv);

// The mask as 0/1 in a floating dtype, to multiply activations with (no history).
Tensor mask_as(const Tensor& mask, DType dtype);

// The masks of one attention call, for one sequence (no batch axis), to show and explain. All
// optional; padding masks are 1 on real tokens.
struct MaskParts {
    std::int64_t tq = 0, tv = 0;
    Tensor query_mask;      // b8 [Tq]: 0 marks a padding query
    Tensor value_mask;      // b8 [Tv]: 0 marks a padding key
    Tensor attention_mask;  // b8 [Tq,Tv]: a custom mask, 1 = query i may see key j
    bool causal = false;    // query i sees keys j <= i
};

// b8 [Tq,Tv]: value_mask ∧ causal ∧ attention_mask, and ∧ query_mask when `with_query_mask`.
// With it, this is the mask MultiHeadAttention's softmax applies; without it, Attention's and
// AdditiveAttention's (they zero the output rows of padding queries instead). ShapeError or
// ValueError naming "combine_masks" when a part has the wrong shape or is not b8.
Tensor combine_masks(const MaskParts& parts, bool with_query_mask = true);

// What goes under the grid of combine_masks(parts): the polarity legend, which parts were
// combined, and for each layer the query rows left without a key and what the layer does with
// them (MultiHeadAttention: zero weights, output = attention_output.bias; Attention and
// AdditiveAttention: uniform weights over all Tv keys; Gpt: never happens).
std::string explain_mask(const MaskParts& parts);

// Mask validation for layers: "Attention: value_mask [2,5]: shape differs from [B,Tv] ([2,5] vs
// [2,4])". expect_mask wants exactly `expected`; expect_mask_broadcasts wants a shape that
// broadcasts to `target` (each dim 1 or equal, rank at most the target's). Both want dtype b8
// (ValueError).
void expect_mask(std::string_view layer, std::string_view name, const Tensor& mask,
                 std::string_view pattern, const Shape& expected);
void expect_mask_broadcasts(std::string_view layer, std::string_view name, const Tensor& mask,
                            std::string_view pattern, const Shape& target);

}  // namespace tapegrad
