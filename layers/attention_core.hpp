// The one attention core shared by Attention, AdditiveAttention, MultiHeadAttention and GPT's
// causal self-attention (the last two through dot_product_attention): they differ only in how they
// make the scores; masks, softmax, dropout and the weighted sum happen here. GPT takes this path
// with a KV cache or kept weights; otherwise it runs the same steps as one op on its packed q/k/v
// projection (autograd/ops/packed_attention.hpp), with the same kernels.
//
//   weights = softmax over Tv of (scale·scores, masked)      scores [B,Tq,Tv] or [B,H,Tq,Tv]
//   output  = dropout(weights) @ value                        value  [B,Tv,Dv] or [B,H,Tv,Dv]
//
// Masks are b8 with 1 = may attend (Keras' polarity, see layers/masks.hpp). The fused
// masked_softmax replaces masked scores by −1e9, so they get no weight (Keras subtracts 1e9: the
// same weights wherever a row keeps a key, and in float32 everywhere).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/random.hpp"
#include "core/tensor.hpp"

namespace tapegrad {

struct AttentionMasks {     // all optional
    Tensor query_mask;      // b8 [B,Tq]: 0 marks a padding query
    Tensor value_mask;      // b8 [B,Tv]: 0 marks a padding key/value position
    Tensor attention_mask;  // b8, broadcastable to the scores: [Tq,Tv], [B,Tq,Tv], [B,H,Tq,Tv]
    bool causal = false;    // query i sees keys j <= i (top-left aligned when Tq != Tv)
};

// The two Keras conventions, which differ in three details:
//   attention   (Attention, AdditiveAttention): the query mask zeroes output rows; a row whose
//               keys are all masked keeps its softmax (a uniform row); the weights returned are
//               the ones used, i.e. after dropout.
//   multi_head  (MultiHeadAttention): the query mask joins the softmax mask as [B,1,Tq,1]; masked
//               weights are set to 0 after the softmax, so a fully masked row gives zero weights
//               (and the output is the output bias); the weights returned are before dropout.
enum class AttentionConvention { attention, multi_head };

struct AttentionCoreOptions {
    AttentionConvention convention = AttentionConvention::attention;
    double scale = 1.0;    // fused constant factor on the scores (MHA: 1/√key_dim)
    double dropout = 0.0;  // rate on the weights, used only when training
    bool training = false;
    Generator* generator = nullptr;  // dropout's random source; needed when dropout is used
    bool return_weights = false;
    // Set by dot_product_attention only (multi_head, causal): the weights are 0 above the
    // diagonal, so the weighted sum skips those blocks.
    bool causal_blocks = false;
};

struct AttentionCoreResult {
    Tensor output;   // [B,Tq,Dv] or [B,H,Tq,Dv]
    Tensor weights;  // like the scores, when asked for
};

// What a layer's call takes besides its inputs. Keras has attention_mask on MultiHeadAttention
// only; here every layer accepts it (ANDed with the other masks before the softmax).
struct AttentionCall {
    Tensor query_mask;                     // b8 [B,Tq], 1 = real query
    Tensor value_mask;                     // b8 [B,Tv], 1 = real key/value position
    Tensor attention_mask;                 // b8 [B,Tq,Tv] or [Tq,Tv], 1 = query i may see key j
    bool use_causal_mask = false;          // query i attends to keys j <= i
    bool return_attention_scores = false;  // also return the softmax weights
    std::optional<bool> training;          // dropout on/off; unset = the module's train()/eval()
};

// A layer's result. It converts to its output, so `Tensor y = attention(x, x);` works.
struct AttentionResult {
    Tensor output;  // [B,Tq,Dout]
    Tensor scores;  // softmax weights, defined only when return_attention_scores was set
    operator Tensor() const { return output; }
};

// Checks every layer's call makes first: query, value, key of rank 3 and one floating dtype,
// one batch size, key and value of one length. Errors name the layer and the shapes.
void expect_attention_inputs(std::string_view layer, const Tensor& query, const Tensor& value,
                             const Tensor& key);
// "<layer>: <a_name> <a>, <b_name> <b>: <what> differ (<size_a> vs <size_b>)" unless sizes agree.
void expect_sizes_match(std::string_view layer, std::string_view a_name, const Shape& a,
                        std::string_view b_name, const Shape& b, std::int64_t size_a,
                        std::int64_t size_b, std::string_view what);
// query_mask [B,Tq], value_mask [B,Tv], attention_mask broadcastable to `scores` ([B,Tq,Tv] or
// [B,H,Tq,Tv]), all b8; the layers call this at entry, before any work.
void expect_attention_masks(std::string_view layer, const AttentionMasks& masks,
                            const Shape& scores);
// A dropout rate in [0, 1), else ValueError naming the layer.
void expect_dropout_rate(std::string_view layer, double rate);

// scores [B,Tq,Tv] with value [B,Tv,Dv], or [B,H,Tq,Tv] with [B,H,Tv,Dv]; masks already checked
// by expect_attention_masks.
AttentionCoreResult attention_core(const Tensor& scores, const Tensor& value,
                                   const AttentionMasks& masks,
                                   const AttentionCoreOptions& options);

// Dot-product attention of heads, the multi_head convention: scores = q·kᵀ for q [B,H,Tq,D] and
// k [B,H,Tk,D], then attention_core with v [B,H,Tk,Dv]. Where the causal block products pay off
// at this length (causal_products_pay_off, which packed_self_attention asks too), both products
// skip the blocks above the diagonal.
AttentionCoreResult dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                          const AttentionMasks& masks,
                                          AttentionCoreOptions options);

}  // namespace tapegrad
