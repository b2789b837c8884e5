// Attention and AdditiveAttention (Keras' Luong and Bahdanau layers), the shared attention core
// and the mask helpers. Values against torch live in test_attention_keras.cpp, MHA in test_mha.cpp.
#include <doctest/doctest.h>

#include "attention_cases.hpp"
#include "autograd/ops.hpp"
#include "autograd/tape.hpp"
#include "layers/additive_attention.hpp"
#include "layers/attention.hpp"
#include "layers/masks.hpp"
#include "support.hpp"

using namespace tapegrad;
using namespace tapegrad::test;  // attention_cases.hpp and support.hpp

namespace {

// Gradients w.r.t. query, value, key and every parameter of a float64 layer, over every mask case.
void check_layer_gradients(AttentionBase& layer) {
    layer.to(f64);
    std::vector<Tensor> inputs{attention_input({2, 3, 4}, 1), attention_input({2, 5, 3}, 2),
                               attention_input({2, 5, 4}, 3)};
    for (const Tensor& p : layer.parameters()) inputs.push_back(p);
    for (const test::MaskCase& c : test::attention_mask_cases) {
        INFO("masks: ", c.name);
        const AttentionCall call =
            attention_call(c.value_mask, c.query_mask, c.causal, c.attention_mask);
        check_gradients(
            [&](const std::vector<Tensor>& xs) { return layer(xs[0], xs[1], xs[2], call).output; },
            inputs);
    }
}

}  // namespace

TEST_CASE("Attention: gradcheck w.r.t. query, value, key and its parameters, dot and concat") {
    for (ScoreMode mode : {ScoreMode::dot, ScoreMode::concat}) {
        for (bool use_scale : {false, true}) {
            INFO("concat: ", mode == ScoreMode::concat, ", use_scale: ", use_scale);
            Attention layer({.use_scale = use_scale, .score_mode = mode});
            for (const Tensor& p : layer.parameters()) {  // away from 1 so scale·x is not x
                NoGrad no_grad;
                p.span<float>()[0] = 0.8f;
            }
            check_layer_gradients(layer);
        }
    }
}

TEST_CASE("AdditiveAttention: gradcheck w.r.t. query, value, key and scale") {
    for (bool use_scale : {false, true}) {
        INFO("use_scale: ", use_scale);
        AdditiveAttention layer(4, {.use_scale = use_scale, .seed = 5});
        CHECK(layer.parameters().size() == (use_scale ? 1u : 0u));
        check_layer_gradients(layer);
    }
}

TEST_CASE("Attention: gradcheck of the returned attention scores") {
    Attention layer({.use_scale = true, .score_mode = ScoreMode::concat});
    layer.to(f64);
    const AttentionCall call = attention_call(true, true, true, false);
    check_gradients(
        [&](const std::vector<Tensor>& xs) {
            AttentionCall c = call;
            c.return_attention_scores = true;
            return layer(xs[0], xs[1], xs[2], c).scores;
        },
        {attention_input({2, 3, 4}, 4), attention_input({2, 5, 3}, 5),
         attention_input({2, 5, 4}, 6), layer.parameters()[0], layer.parameters()[1]});
}

TEST_CASE("Attention: dot scores are raw Q·Kᵀ and the output is softmax(scores)·V") {
    // query [1,1,2], key = value [1,2,2]: scores (1·1 + 0·0, 1·0 + 0·2) = (1, 0)
    const Tensor q = from({1, 0}, {1, 1, 2}, {.dtype = f64});
    const Tensor v = from({1, 0, 0, 2}, {1, 2, 2}, {.dtype = f64});
    Attention layer;
    layer.to(f64);
    const AttentionResult r = layer(q, v, {}, {.return_attention_scores = true});
    const double w0 = 1 / (1 + std::exp(-1.0));  // softmax(1, 0)[0]
    check_close(r.scores, {w0, 1 - w0}, {1, 1, 2}, 1e-12);
    check_close(r.output, {w0, 2 * (1 - w0)}, {1, 1, 2}, 1e-12);
    const Tensor y = layer(q, v);  // converts to the output
    check_close(y, r.output, 1e-15);
    CHECK(layer.parameters().empty());
}

TEST_CASE("Attention: masked queries give zero rows, fully masked keys a uniform row (Keras)") {
    Attention layer({.use_scale = true});
    const Tensor q = uniform({2, 3, 4}, 1, 2, {.seed = 1});
    const Tensor v = uniform({2, 5, 4}, 1, 2, {.seed = 2});
    const std::uint8_t queries[] = {1, 1, 1, 0, 1, 0};
    const std::uint8_t values[] = {1, 1, 1, 0, 0, 0, 0, 0, 0, 0};  // batch 1: every key masked
    const AttentionResult r = layer(q, v, {},
                                    {.query_mask = mask(queries, {2, 3}),
                                     .value_mask = mask(values, {2, 5}),
                                     .return_attention_scores = true});
    for (std::int64_t i : {0, 2})
        for (std::int64_t d = 0; d < 4; ++d) CHECK(r.output.at({1, i, d}) == 0.0);
    CHECK(r.output.at({1, 1, 0}) != 0.0);
    for (std::int64_t j = 0; j < 5; ++j) CHECK(r.scores.at({1, 1, j}) == doctest::Approx(0.2));
    for (std::int64_t j = 3; j < 5; ++j) CHECK(r.scores.at({0, 0, j}) == 0.0);
}

TEST_CASE("Attention: causal mask lets query i see keys j <= i, top-left aligned") {
    Attention layer;
    const AttentionResult r =
        layer(uniform({1, 3, 2}, -1, 1, {.seed = 3}), uniform({1, 4, 2}, -1, 1, {.seed = 4}), {},
              {.use_causal_mask = true, .return_attention_scores = true});
    for (std::int64_t i = 0; i < 3; ++i) {
        double row = 0;
        for (std::int64_t j = 0; j < 4; ++j) {
            if (j > i) CHECK(r.scores.at({0, i, j}) == 0.0);
            row += r.scores.at({0, i, j});
        }
        CHECK(row == doctest::Approx(1.0));
    }
    CHECK(r.scores.at({0, 0, 0}) == doctest::Approx(1.0));
}

TEST_CASE("Attention: Attention(use_scale=true)(X, X) learns its temperature by SGD") {
    // Teacher: the same layer with scale 2. The student starts at 1 and only has its scale to
    // learn.
    Attention teacher({.use_scale = true}), student({.use_scale = true});
    teacher.parameters()[0].span<float>()[0] = 2.0f;
    const Tensor x = uniform({4, 6, 3}, -1, 1, {.seed = 11});
    Tensor target;
    {
        NoGrad no_grad;
        target = teacher(x, x).output;
    }
    const Tensor scale = student.parameters()[0];
    double first_loss = 0, loss_value = 0;
    for (int step = 0; step < 60; ++step) {
        student.zero_grad();
        const Tensor loss = mse_loss(student(x, x), target);
        loss.backward();
        loss_value = loss.item();
        if (step == 0) {
            first_loss = loss_value;
            REQUIRE(scale.grad().defined());
            CHECK(scale.grad().item() != 0.0);
        }
        NoGrad no_grad;  // plain SGD: scale -= lr·dscale
        scale.span<float>()[0] -= 20.0f * static_cast<float>(scale.grad().item());
    }
    INFO("scale: ", scale.item(), ", loss: ", first_loss, " -> ", loss_value);
    CHECK(std::abs(scale.item() - 2.0) < 0.1);
    CHECK(loss_value < 0.01 * first_loss);
}

TEST_CASE("Attention: dropout on the weights only while training, seeded, after the softmax") {
    Attention layer({.dropout = 0.5, .seed = 3});
    const Tensor q = uniform({2, 3, 4}, -1, 1, {.seed = 1});
    const Tensor v = uniform({2, 5, 4}, -1, 1, {.seed = 2});
    const AttentionResult eval =
        layer(q, v, {}, {.return_attention_scores = true, .training = false});
    const AttentionResult train =
        layer(q, v, {}, {.return_attention_scores = true, .training = true});
    int dropped = 0;
    const std::vector<double> e_scores = eval.scores.to_vector(),
                              t_scores = train.scores.to_vector();
    for (std::size_t i = 0; i < e_scores.size(); ++i) {
        const double e = e_scores[i], t = t_scores[i];
        if (t == 0.0)
            ++dropped;
        else
            CHECK(t == doctest::Approx(2 * e));  // survivors scaled by 1/(1 − rate)
    }
    CHECK(dropped > 0);
    CHECK(dropped < eval.scores.numel());
    layer.eval();  // training unset follows the module's mode
    check_close(layer(q, v).output, eval.output, 0, 0);
    Attention twin({.dropout = 0.5, .seed = 3});
    check_close(twin(q, v, {}, {.training = true}).output, train.output, 0, 0);
}

TEST_CASE("Attention: wrong shapes throw errors naming the layer and the shapes") {
    const Tensor q = zeros({2, 3, 4}), v = zeros({2, 5, 4});
    const test::ShapeErrorCase cases[] = {
        {.key = Shape{2, 5, 3},
         .message = "query [2,3,4], key [2,5,3]: feature sizes differ (4 vs 3)"},
        {.key = Shape{2, 6, 4}, .message = "value [2,5,4], key [2,6,4]: lengths differ (5 vs 6)"},
        {.value = {3, 5, 4},
         .message = "query [2,3,4], value [3,5,4]: batch sizes differ (2 vs 3)"},
        {.query = {3, 4}, .message = "query [3,4]: expected rank 3 (got 2)"},
        {.call = {.value_mask = ones_mask({2, 4})},
         .message = "value_mask [2,4]: shape differs from [B,Tv] ([2,4] vs [2,5])"},
        {.call = {.query_mask = ones_mask({3, 2})},
         .message = "query_mask [3,2]: shape differs from [B,Tq] ([3,2] vs [2,3])"},
        {.call = {.attention_mask = ones_mask({3, 4})},
         .message = "attention_mask [3,4]: does not broadcast to [B,Tq,Tv] ([3,4] vs [2,3,5])"},
    };
    Attention layer;
    test::check_shape_errors(layer, cases, "Attention: ");
    check_throws_with<ValueError>(
        [&] {
            layer(q, v, {}, {.value_mask = zeros({2, 5})});
        },
        {"Attention: value_mask [2,5] f32: masks must be b8"});
    check_throws_with<ValueError>([&] { Attention bad({.dropout = 1.0}); },
                                  {"Attention: dropout 1 is outside [0, 1)"});
    AdditiveAttention additive(4);
    check_throws_with<ShapeError>(
        [&] {
            additive(zeros({2, 3, 5}), zeros({2, 5, 5}));
        },
        {"AdditiveAttention: query [2,3,5], dim [4]: feature sizes differ (5 vs 4)"});
    check_throws_with<ValueError>([&] { AdditiveAttention bad(0); },
                                  {"AdditiveAttention: dim must be positive (got 0)"});
}

TEST_CASE(
    "AdditiveAttention: scale is [D] glorot-uniform and scores are Σ_d scale_d·tanh(q_d + k_d)") {
    AdditiveAttention layer(3, {.seed = 9});
    const auto named = layer.named_parameters();
    REQUIRE(named.size() == 1);
    CHECK(named[0].first == "scale");
    CHECK(named[0].second.shape() == Shape{3});
    for (double s : named[0].second.to_vector())
        CHECK(std::abs(s) <= std::sqrt(3.0 / 3.0));  // √(6/(3+3))
    layer.to(f64);
    NoGrad no_grad;
    const Tensor scale = from({0.5, -1, 2}, {3}, {.dtype = f64});
    layer.load_state_dict({{"scale", scale}});
    const Tensor q = from({0.1, 0.2, 0.3}, {1, 1, 3}, {.dtype = f64});
    const Tensor v = from({0.3, -0.2, 0.1, 0, 0.4, -0.5}, {1, 2, 3}, {.dtype = f64});
    const AttentionResult r = layer(q, v, {}, {.return_attention_scores = true});
    const double s0 = 0.5 * std::tanh(0.4) - std::tanh(0.0) + 2 * std::tanh(0.4);
    const double s1 = 0.5 * std::tanh(0.1) - std::tanh(0.6) + 2 * std::tanh(-0.2);
    const double w0 = 1 / (1 + std::exp(s1 - s0));
    check_close(r.scores, {w0, 1 - w0}, {1, 1, 2}, 1e-12);
}

TEST_CASE("attention masks: padding, causal, and-with-broadcasting and empty-row helpers") {
    const std::int64_t lengths[] = {2, 0, 3};
    check_close(padding_mask(lengths, 3), {1, 1, 0, 0, 0, 0, 1, 1, 1}, {3, 3});
    check_close(causal_mask(2, 3), {1, 0, 0, 1, 1, 0}, {2, 3});
    check_close(causal_mask(3, 2), {1, 0, 1, 1, 1, 1}, {3, 2});
    const std::uint8_t a[] = {1, 0, 1, 1, 1, 0};  // [2,1,3]
    const std::uint8_t b[] = {1, 1, 0, 0, 1, 1};  // [2,3]
    const Tensor both = mask_and(mask(a, {2, 1, 3}), mask(b, {2, 3}));
    CHECK(both.dtype() == b8);
    check_close(both, {1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 0}, {2, 2, 3});
    const Tensor only = mask(b, {2, 3});
    CHECK(mask_and(Tensor(), only).shares_storage(only));  // no mask on one side: the other as is
    CHECK(!mask_and(Tensor(), Tensor()).defined());
    check_close(mask_as(mask(b, {2, 3}), f64), {1, 1, 0, 0, 1, 1}, {2, 3});
    // [1,3,4]: row 1 keeps nothing; under the causal rule row 0 sees key 0 only, which it masks
    const std::uint8_t grid[] = {0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0};
    check_close(rows_with_keys(mask(grid, {1, 3, 4}), false, 3, 4), {1, 0, 1}, {1, 3, 1});
    check_close(rows_with_keys(mask(grid, {1, 3, 4}), true, 3, 4), {0, 0, 1}, {1, 3, 1});
    const std::uint8_t keys[] = {1, 1, 0, 0, 0, 0, 0, 0};  // [2,1,4]: one key row for every query
    check_close(rows_with_keys(mask(keys, {2, 1, 4}), false, 3, 4), {1, 1, 1, 0, 0, 0}, {2, 3, 1});
    // no empty row: nothing to zero
    CHECK(!rows_with_keys(mask(std::span(keys, 4), {1, 1, 4}), true, 3, 4).defined());
    const std::int64_t too_long[] = {4};
    check_throws_with<ValueError>([&] { padding_mask(too_long, 3); },
                                  {"padding_mask", "length 4", "[0, 3]"});
    const Tensor wide = mask(a, {2, 1, 3}), narrow = mask(a, {3, 2});
    check_throws_with<ShapeError>([&] { mask_and(wide, narrow); },
                                  {"mask_and", "[2,1,3]", "[3,2]"});
}
