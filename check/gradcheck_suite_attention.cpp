// The suite's cases for the attention layers: Attention (dot and concat, with and without scale),
// AdditiveAttention and MultiHeadAttention, each under every mask combination.
#include <fmt/format.h>

#include <memory>

#include "check/gradcheck_suite_cases.hpp"
#include "layers/additive_attention.hpp"
#include "layers/attention.hpp"
#include "layers/multi_head_attention.hpp"

namespace tapegrad::detail {
namespace {

constexpr double bound = 0.8;  // parameter values: uniform(−bound, bound)

// query [2,3,4], value [2,5,3], key [2,5,4]: every size that may differ does.
std::vector<Tensor> attention_inputs() {
    return {grad_input({2, 3, 4}, 1), grad_input({2, 5, 3}, 2), grad_input({2, 5, 4}, 3)};
}

// layer(query, value, key, call).output, or .scores, w.r.t. the inputs and every parameter.
template <class L>
void add_attention(SuiteBuilder& suite, std::string name, std::shared_ptr<L> layer,
                   const AttentionCall& call, bool scores = false) {
    suite.add_module(
        std::move(name), *layer, bound,
        [layer, call, scores](const std::vector<Tensor>& v) {
            const AttentionResult r = (*layer)(v[0], v[1], v[2], call);
            return scores ? r.scores : r.output;
        },
        attention_inputs());
}

std::shared_ptr<MultiHeadAttention> small_mha(bool use_bias) {
    return std::make_shared<MultiHeadAttention>(4, small_mha_options(use_bias));
}

void add_multi_head_cases(SuiteBuilder& suite) {
    for (const bool use_bias : {true, false})
        for (const AttentionMaskCase& c : attention_mask_cases())
            add_attention(
                suite, fmt::format("MultiHeadAttention/{}{}", use_bias ? "" : "no bias, ", c.name),
                small_mha(use_bias), c.call);
    std::vector<std::uint8_t> keep(2 * 2 * 3 * 5);  // [B,H,Tq,Tv], key 0 kept in every row
    for (std::size_t i = 0; i < keep.size(); ++i) keep[i] = (i % 5 == 0) || (i * 7 % 3 != 0);
    const AttentionCall per_head{.attention_mask = mask(keep, {2, 2, 3, 5}),
                                 .use_causal_mask = true,
                                 .return_attention_scores = true};
    add_attention(suite, "MultiHeadAttention/per-head mask + causal", small_mha(true), per_head);
    add_attention(suite, "MultiHeadAttention/returned scores, per-head mask + causal",
                  small_mha(true), per_head, /*scores=*/true);
}

}  // namespace

MultiHeadAttentionOptions small_mha_options(bool use_bias) {
    return {.num_heads = 2,
            .key_dim = 3,
            .value_dim = 2,
            .use_bias = use_bias,
            .output_shape = 5,
            .value_input_dim = 3,
            .key_input_dim = 4,
            .seed = 1};
}

void add_attention_cases(SuiteBuilder& suite) {
    for (const ScoreMode mode : {ScoreMode::dot, ScoreMode::concat})
        for (const bool use_scale : {false, true})
            for (const AttentionMaskCase& c : attention_mask_cases())
                add_attention(
                    suite,
                    fmt::format("Attention/{}{}, {}", mode == ScoreMode::dot ? "dot" : "concat",
                                use_scale ? ", use_scale" : "", c.name),
                    std::make_shared<Attention>(
                        AttentionOptions{.use_scale = use_scale, .score_mode = mode}),
                    c.call);
    const AttentionCall all_masks = attention_mask_cases()[2].call;  // query and value masks
    AttentionCall with_scores = all_masks;
    with_scores.use_causal_mask = true;
    with_scores.return_attention_scores = true;
    add_attention(suite, "Attention/returned scores, concat, use_scale, masks + causal",
                  std::make_shared<Attention>(
                      AttentionOptions{.use_scale = true, .score_mode = ScoreMode::concat}),
                  with_scores, /*scores=*/true);
    for (const bool use_scale : {false, true})
        for (const AttentionMaskCase& c : attention_mask_cases())
            add_attention(
                suite,
                fmt::format("AdditiveAttention/{}{}", use_scale ? "use_scale, " : "", c.name),
                std::make_shared<AdditiveAttention>(
                    4, AdditiveAttentionOptions{.use_scale = use_scale, .seed = 5}),
                c.call);
    add_multi_head_cases(suite);
}

}  // namespace tapegrad::detail
