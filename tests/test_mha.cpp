// MultiHeadAttention: gradients, weights, masks, dropout and errors. Values against torch are in
// test_attention_keras.cpp.
#include <doctest/doctest.h>

#include "attention_cases.hpp"
#include "autograd/ops.hpp"
#include "autograd/tape.hpp"
#include "check/gradcheck_suite_cases.hpp"
#include "layers/masks.hpp"
#include "layers/multi_head_attention.hpp"
#include "support.hpp"

using namespace tapegrad;
using namespace tapegrad::test;  // attention_cases.hpp and support.hpp

namespace {

// A float64 copy of the layer's parameters with non-zero biases, so every term is exercised.
void randomize(MultiHeadAttention& layer) { test::randomize_parameters(layer, 0.8, 20); }

std::vector<Tensor> inputs_and_parameters(const MultiHeadAttention& layer) {
    std::vector<Tensor> xs{attention_input({2, 3, 4}, 1), attention_input({2, 5, 3}, 2),
                           attention_input({2, 5, 4}, 3)};
    for (const Tensor& p : layer.parameters()) xs.push_back(p);
    return xs;
}

// The layer nested in a parent, to see its path in error messages.
struct Block : Module {
    MultiHeadAttention attn{4, {.num_heads = 2, .key_dim = 3}};
    Block() : Module("Block") { register_module("attn", attn); }
};

}  // namespace

TEST_CASE("MultiHeadAttention: gradcheck w.r.t. query, value, key and all 8 weights, every mask") {
    for (bool use_bias : {true, false}) {
        MultiHeadAttention layer(4, detail::small_mha_options(use_bias));
        randomize(layer);
        CHECK(layer.parameters().size() == (use_bias ? 8u : 4u));
        const std::vector<Tensor> xs = inputs_and_parameters(layer);
        for (const test::MaskCase& c : test::attention_mask_cases) {
            INFO("use_bias: ", use_bias, ", masks: ", c.name);
            const AttentionCall call =
                attention_call(c.value_mask, c.query_mask, c.causal, c.attention_mask);
            check_gradients(
                [&](const std::vector<Tensor>& in) {
                    return layer(in[0], in[1], in[2], call).output;
                },
                xs);
        }
    }
}

TEST_CASE("MultiHeadAttention: gradcheck with a per-head mask and of the returned scores") {
    MultiHeadAttention layer(4, detail::small_mha_options());
    randomize(layer);
    std::vector<std::uint8_t> keep(2 * 2 * 3 * 5);
    for (std::size_t i = 0; i < keep.size(); ++i) keep[i] = (i % 5 == 0) || (i * 7 % 3 != 0);
    const AttentionCall call{.attention_mask = mask(keep, {2, 2, 3, 5}),
                             .use_causal_mask = true,
                             .return_attention_scores = true};
    const std::vector<Tensor> xs = inputs_and_parameters(layer);
    check_gradients(
        [&](const std::vector<Tensor>& in) { return layer(in[0], in[1], in[2], call).output; }, xs);
    check_gradients(
        [&](const std::vector<Tensor>& in) { return layer(in[0], in[1], in[2], call).scores; }, xs);
}

TEST_CASE("MultiHeadAttention: Keras' weight names, shapes, order, count and defaults") {
    MultiHeadAttention layer(4, detail::small_mha_options());
    const auto named = layer.named_parameters();
    const std::vector<std::pair<std::string, Shape>> expected = {
        {"query.kernel", {4, 2, 3}},
        {"query.bias", {2, 3}},
        {"key.kernel", {4, 2, 3}},
        {"key.bias", {2, 3}},
        {"value.kernel", {3, 2, 2}},
        {"value.bias", {2, 2}},
        {"attention_output.kernel", {2, 2, 5}},
        {"attention_output.bias", {5}}};
    REQUIRE(named.size() == expected.size());
    for (std::size_t i = 0; i < named.size(); ++i) {
        CHECK(named[i].first == expected[i].first);
        CHECK(named[i].second.shape() == expected[i].second);
    }
    // E_q·H·k + H·k + E_k·H·k + H·k + E_v·H·v + H·v + H·v·E_out + E_out
    CHECK(layer.parameter_count() == 4 * 6 + 6 + 4 * 6 + 6 + 3 * 4 + 4 + 4 * 5 + 5);
    for (double b : layer.state_dict().at("query.bias").to_vector()) CHECK(b == 0.0);
    const double limit = std::sqrt(6.0 / (2 * 4 + 3 * 4));  // glorot with Keras' fans of [4,2,3]
    for (double w : layer.state_dict().at("query.kernel").to_vector()) CHECK(std::abs(w) <= limit);
    MultiHeadAttention defaults(8, {.num_heads = 2, .key_dim = 4});
    const MultiHeadAttentionOptions& o = defaults.options();
    CHECK(o.value_dim == 4);
    CHECK(o.output_shape == 8);
    CHECK(o.value_input_dim == 8);
    CHECK(o.key_input_dim == 8);
    const AttentionResult r = defaults(zeros({3, 5, 8}), uniform({3, 6, 8}, -1, 1, {.seed = 2}), {},
                                       {.return_attention_scores = true});
    CHECK(r.output.shape() == Shape{3, 5, 8});
    CHECK(r.scores.shape() == Shape{3, 2, 5, 6});
    CHECK(*defaults.last_output_shape() == Shape{3, 5, 8});
}

TEST_CASE(
    "MultiHeadAttention: a fully masked query row outputs the output bias, with zero weights") {
    MultiHeadAttention layer(4, detail::small_mha_options());
    randomize(layer);
    const Tensor q = attention_input({2, 3, 4}, 1), v = attention_input({2, 5, 3}, 2);
    const std::uint8_t queries[] = {1, 1, 1, 1, 0, 1};
    const AttentionResult r =
        layer(q, v, attention_input({2, 5, 4}, 3),
              {.query_mask = mask(queries, {2, 3}), .return_attention_scores = true});
    const std::vector<double> bias = layer.state_dict().at("attention_output.bias").to_vector();
    for (std::int64_t d = 0; d < 5; ++d)
        CHECK(r.output.at({1, 1, d}) == doctest::Approx(bias[d]).epsilon(1e-14));
    for (std::int64_t h = 0; h < 2; ++h)
        for (std::int64_t j = 0; j < 5; ++j) CHECK(r.scores.at({1, h, 1, j}) == 0.0);
    CHECK(r.scores.at({1, 0, 0, 0}) != 0.0);
}

TEST_CASE("MultiHeadAttention: causal equals an explicit lower-triangular attention_mask") {
    MultiHeadAttention layer(4, {.num_heads = 2, .key_dim = 3, .seed = 4});
    const Tensor x = uniform({2, 4, 4}, -1, 1, {.seed = 5});
    const Tensor causal = layer(x, x, {}, {.use_causal_mask = true});
    check_close(layer(x, x, {}, {.attention_mask = causal_mask(4, 4)}), causal, 0, 0);
    const Tensor plain = layer(x, x);
    CHECK(std::abs(plain.at({0, 1, 0}) - causal.at({0, 1, 0})) > 1e-6);
    check_close(slice(plain, 1, 3, 4), slice(causal, 1, 3, 4), 1e-6,
                1e-5);  // the last query sees all
}

TEST_CASE(
    "MultiHeadAttention: causal at T >= 128 (products skip the masked half) equals the explicit "
    "mask") {
    const std::int64_t t = 150;  // ragged blocks; causal_products_pay_off(150)
    REQUIRE(causal_products_pay_off(t));
    MultiHeadAttention layer(8, {.num_heads = 2, .key_dim = 4, .seed = 8});
    layer.to(f64);
    const Tensor x = uniform({2, t, 8}, -1, 1, {.dtype = f64, .seed = 9, .requires_grad = true});
    // batch 1's keys from 1 on are padding, and its last 5 queries: those rows keep no key
    const std::int64_t key_lengths[] = {t, 1}, query_lengths[] = {t, t - 5};
    const Tensor keys = padding_mask(key_lengths, t), queries = padding_mask(query_lengths, t);
    const Tensor dy = uniform({2, t, 8}, -1, 1, {.dtype = f64, .seed = 10});
    const auto output_and_grad = [&](const AttentionCall& call) {
        x.zero_grad();
        const Tensor y = layer(x, x, {}, call).output;
        y.backward(dy);
        return std::pair{y.detach(), x.grad().detach()};
    };
    const auto [y, dx] =
        output_and_grad({.query_mask = queries, .value_mask = keys, .use_causal_mask = true});
    const Tensor explicit_mask = mask_and(causal_mask(t, t), keys.view_as_shape({2, 1, t}));
    const auto [y_ref, dx_ref] =
        output_and_grad({.query_mask = queries, .attention_mask = explicit_mask});
    check_close(y, y_ref, 1e-12, 1e-10);
    check_close(dx, dx_ref, 1e-12, 1e-10);
}

TEST_CASE("MultiHeadAttention: dropout while training, scores returned before dropout") {
    MultiHeadAttention layer(4, {.num_heads = 2, .key_dim = 3, .dropout = 0.5, .seed = 6});
    const Tensor x = uniform({2, 4, 4}, -1, 1, {.seed = 7});
    const AttentionResult eval =
        layer(x, x, {}, {.return_attention_scores = true, .training = false});
    const AttentionResult train =
        layer(x, x, {}, {.return_attention_scores = true, .training = true});
    check_close(train.scores, eval.scores, 0, 0);
    CHECK(std::abs(train.output.at({0, 0, 0}) - eval.output.at({0, 0, 0})) +
              std::abs(train.output.at({1, 3, 2}) - eval.output.at({1, 3, 2})) >
          1e-6);
    layer.eval();
    check_close(layer(x, x).output, eval.output, 0, 0);
}

TEST_CASE(
    "MultiHeadAttention: bad options and wrong shapes throw errors naming the layer and shapes") {
    check_throws_with<ValueError>([] { MultiHeadAttention m(4, {.num_heads = 0, .key_dim = 3}); },
                                  {"MultiHeadAttention: num_heads must be positive (got 0)"});
    check_throws_with<ValueError>([] { MultiHeadAttention m(4, {.num_heads = -2, .key_dim = 3}); },
                                  {"num_heads must be positive (got -2)"});
    check_throws_with<ValueError>([] { MultiHeadAttention m(4, {.num_heads = 2, .key_dim = 0}); },
                                  {"MultiHeadAttention: key_dim must be positive (got 0)"});
    check_throws_with<ValueError>(
        [] { MultiHeadAttention m(4, {.num_heads = 2, .key_dim = 2, .dropout = -0.1}); },
        {"MultiHeadAttention: dropout -0.1 is outside [0, 1)"});
    const test::ShapeErrorCase cases[] = {
        {.query = {2, 3, 5},
         .message = "query [2,3,5], query.kernel [4,2,3]: feature sizes differ (5 vs 4)"},
        {.value = {2, 5, 6},
         .key = Shape{2, 5, 4},
         .message = "value [2,5,6], value.kernel [4,2,3]: feature sizes differ (6 vs 4)"},
        {.key = Shape{2, 5, 3},
         .message = "key [2,5,3], key.kernel [4,2,3]: feature sizes differ (3 vs 4)"},
        {.key = Shape{2, 7, 4}, .message = "value [2,5,4], key [2,7,4]: lengths differ (5 vs 7)"},
        {.call = {.attention_mask = ones_mask({2, 3, 4})},
         .message = "attention_mask [2,3,4]: does not broadcast to [B,Tq,Tv] ([2,3,4] vs [2,3,5])"},
        {.call = {.attention_mask = ones_mask({1, 3, 2, 4})},
         .message = "attention_mask [1,3,2,4]: does not broadcast to [B,H,Tq,Tv] ([1,3,2,4] vs "
                    "[2,2,3,5])"},
        {.call = {.value_mask = ones_mask({2, 4})},
         .message = "value_mask [2,4]: shape differs from [B,Tv] ([2,4] vs [2,5])"},
    };
    Block block;  // errors name the layer by its path
    test::check_shape_errors(block.attn, cases, "MultiHeadAttention 'attn': ");
}
