// The suite's cases for the transformer blocks and the GPT layers, from Conv1D up to the whole
// model's loss.
#include <fmt/format.h>

#include <memory>

#include "check/gradcheck_suite_cases.hpp"
#include "layers/gpt.hpp"
#include "layers/sequence_transformer.hpp"
#include "layers/transformer.hpp"

namespace tapegrad::detail {
namespace {

constexpr double block_bound = 0.6;  // parameter values: uniform(−block_bound, block_bound)

// d_model 4, 2 heads of 3, ffn 6, no dropout.
TransformerBlockOptions small_block(bool norm_first) {
    return {.num_heads = 2,
            .dff = 6,
            .dropout_rate = 0.0,
            .norm_first = norm_first,
            .key_dim = 3,
            .context_dim = 3,
            .seed = 1};
}

void add_block_cases(SuiteBuilder& suite, bool norm_first) {
    const std::string ln = norm_first ? "pre-LN" : "post-LN";
    const Tensor x = grad_input({2, 3, 4}, 8);
    static const std::uint8_t real[] = {1, 1, 1, 1, 1, 0};
    const Tensor pad = mask(real, {2, 3});
    auto encoder = std::make_shared<TransformerEncoderBlock>(4, small_block(norm_first));
    suite.add_module(
        "TransformerEncoderBlock/" + ln + ", padding mask", *encoder, block_bound,
        [encoder, pad](const std::vector<Tensor>& v) { return (*encoder)(v[0], {.mask = pad}); },
        {x});
    auto decoder = std::make_shared<TransformerDecoderBlock>(4, small_block(norm_first));
    static const std::uint8_t real_context[] = {1, 1, 1, 0};
    const Tensor context_pad = mask(real_context, {2, 2});
    suite.add_module("TransformerDecoderBlock/" + ln + ", padding masks", *decoder, block_bound,
                     [decoder, pad, context_pad](const std::vector<Tensor>& v) {
                         return (*decoder)(v[0], v[1], {.mask = pad, .context_mask = context_pad});
                     },
                     {x, grad_input({2, 2, 3}, 9)});
}

void add_transformer_model_cases(SuiteBuilder& suite) {
    Generator gen(4);
    auto ffn = std::make_shared<FeedForward>(4, small_block(false), gen);
    suite.add_module("FeedForward/relu", *ffn, block_bound,
                     [ffn](const std::vector<Tensor>& v) { return ffn->forward(v[0]); },
                     {grad_input({2, 3, 4}, 10)});
    auto model = std::make_shared<SequenceTransformer>(SequenceTransformerOptions{.vocab_size = 5,
                                                                                  .classes = 3,
                                                                                  .max_len = 4,
                                                                                  .width = 4,
                                                                                  .layers = 1,
                                                                                  .heads = 2,
                                                                                  .seed = 3});
    static const std::int32_t tokens[] = {1, 4, 0, 2, 2, 3};
    const Tensor ids_in = ids(tokens, {2, 3});
    suite.add_module("SequenceTransformer/logits", *model, block_bound,
                     [model, ids_in](const std::vector<Tensor>&) { return (*model)(ids_in); }, {});
}

// C 6, 3 heads, 2 layers (for c_proj's initial scale); no dropout.
const GptConfig block_config{.n_embd = 6, .n_layer = 2, .n_head = 3};

// layer(x) w.r.t. x and every parameter.
void add_gpt_layer(SuiteBuilder& suite, std::string name, std::shared_ptr<Layer> layer,
                   const Shape& input) {
    suite.add_module(std::move(name), *layer, block_bound,
                     [layer](const std::vector<Tensor>& v) { return (*layer)(v[0]); },
                     {grad_input(input, 1)});
}

}  // namespace

void add_transformer_cases(SuiteBuilder& suite) {
    for (const bool norm_first : {false, true}) add_block_cases(suite, norm_first);
    add_transformer_model_cases(suite);
}

void add_gpt_cases(SuiteBuilder& suite) {
    Generator gen(3);  // initial weights, replaced by add_module
    add_gpt_layer(suite, "Conv1D/[B,T,C]", std::make_shared<Conv1D>(4, 5, 0.02, gen, f64),
                  {2, 3, 4});
    add_gpt_layer(suite, "Mlp/gelu", std::make_shared<Mlp>(block_config, gen), {2, 3, 6});
    add_gpt_layer(suite, "CausalSelfAttention/3 heads",
                  std::make_shared<CausalSelfAttention>(block_config, gen), {2, 4, 6});
    add_gpt_layer(suite, "GptBlock/pre-LN", std::make_shared<GptBlock>(block_config, gen),
                  {2, 4, 6});
    auto model = std::make_shared<Gpt>(GptConfig{
        .vocab_size = 7, .n_positions = 4, .n_embd = 4, .n_layer = 1, .n_head = 2, .seed = 2});
    static const std::int32_t tokens[] = {1, 3, 0, 6, 2, 2};
    static const std::int32_t next[] = {3, 0, 6, 2, 2, 5};
    const Tensor x = ids(tokens, {2, 3}), y = ids(next, {2, 3});
    suite.add_module("Gpt/loss, tied head", *model, block_bound,
                     [model, x, y](const std::vector<Tensor>&) { return model->loss(x, y); }, {});
}

}  // namespace tapegrad::detail
