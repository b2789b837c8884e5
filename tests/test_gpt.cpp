#include <doctest/doctest.h>

#include <cmath>

#include "autograd/ops.hpp"
#include "layer_fixtures.hpp"
#include "layers/gpt.hpp"
#include "support.hpp"

using namespace tapegrad;
using test::check_gradients;
using test::check_throws_with;

namespace {

const GptConfig tiny{
    .vocab_size = 11, .n_positions = 8, .n_embd = 8, .n_layer = 2, .n_head = 2, .seed = 1};

// V·C + P·C (tables) + L·(12C² + 13C) (blocks) + 2C (ln_f): GPT-2's count, head tied to wte.
std::int64_t expected_count(const GptConfig& c) {
    const std::int64_t C = c.n_embd;
    return c.vocab_size * C + c.n_positions * C + c.n_layer * (12 * C * C + 13 * C) + 2 * C;
}

Tensor token_ids(std::vector<std::int32_t> values, const Shape& shape) {
    return ids(values, shape);
}

double stddev(const Tensor& t) {
    double sq = 0;
    for (double v : t.to_vector()) sq += v * v;
    return std::sqrt(sq / double(t.numel()));
}

}  // namespace

TEST_CASE("Gpt: state dict names and shapes are HF GPT-2's") {
    Gpt model(tiny);
    std::vector<std::string> names;
    for (const auto& [name, t] : model.named_parameters())
        names.push_back(name + fmt::format("{}", t.shape()));
    std::vector<std::string> expected{"wte.weight[11,8]", "wpe.weight[8,8]"};
    for (int i = 0; i < 2; ++i)
        for (const char* entry :
             {"ln_1.weight[8]", "ln_1.bias[8]", "attn.c_attn.weight[8,24]", "attn.c_attn.bias[24]",
              "attn.c_proj.weight[8,8]", "attn.c_proj.bias[8]", "ln_2.weight[8]", "ln_2.bias[8]",
              "mlp.c_fc.weight[8,32]", "mlp.c_fc.bias[32]", "mlp.c_proj.weight[32,8]",
              "mlp.c_proj.bias[8]"})
            expected.push_back(fmt::format("h.{}.{}", i, entry));
    expected.push_back("ln_f.weight[8]");
    expected.push_back("ln_f.bias[8]");
    CHECK(names == expected);
    CHECK(model.state_dict().size() == expected.size());  // no buffers, no separate lm_head
}

TEST_CASE("Gpt: parameter count matches the formula") {
    CHECK(Gpt(tiny).parameter_count() == expected_count(tiny));
    const GptConfig wider{
        .vocab_size = 65, .n_positions = 32, .n_embd = 48, .n_layer = 3, .n_head = 4};
    CHECK(Gpt(wider).parameter_count() == expected_count(wider));
    const GptConfig gpt2_small{};  // the formula gives GPT-2 small's published 124,439,808
    CHECK(expected_count(gpt2_small) == 124439808);
}

TEST_CASE("Gpt: GPT-2 initialisation, reproducible by seed") {
    const GptConfig c{
        .vocab_size = 300, .n_positions = 64, .n_embd = 64, .n_layer = 4, .n_head = 4, .seed = 7};
    Gpt model(c);
    const StateDict s = model.state_dict();
    CHECK(stddev(s.at("wte.weight")) == doctest::Approx(0.02).epsilon(0.03));
    CHECK(stddev(s.at("h.1.attn.c_attn.weight")) == doctest::Approx(0.02).epsilon(0.03));
    CHECK(stddev(s.at("h.1.mlp.c_fc.weight")) == doctest::Approx(0.02).epsilon(0.03));
    const double residual = 0.02 / std::sqrt(2.0 * 4);
    CHECK(stddev(s.at("h.2.attn.c_proj.weight")) == doctest::Approx(residual).epsilon(0.05));
    CHECK(stddev(s.at("h.2.mlp.c_proj.weight")) == doctest::Approx(residual).epsilon(0.03));
    CHECK(stddev(s.at("h.0.mlp.c_fc.bias")) == 0.0);
    for (double v : s.at("h.3.ln_2.weight").to_vector()) CHECK(v == 1.0);
    Gpt twin(c);
    test::check_close(twin.state_dict().at("h.3.mlp.c_fc.weight"), s.at("h.3.mlp.c_fc.weight"), 0,
                      0);
}

TEST_CASE("Gpt: logits are causal: a later token does not change earlier logits") {
    Gpt model(tiny);
    const Tensor a = model(token_ids({1, 2, 3, 4, 5, 6}, {1, 6}));
    const Tensor b = model(token_ids({1, 2, 3, 9, 5, 6}, {1, 6}));
    CHECK(a.shape() == Shape{1, 6, 11});
    for (std::int64_t t = 0; t < 6; ++t) {
        double diff = 0;
        for (std::int64_t v = 0; v < 11; ++v)
            diff = std::max(diff, std::abs(a.at({0, t, v}) - b.at({0, t, v})));
        INFO("position ", t);
        if (t < 3)
            CHECK(diff == 0.0);
        else
            CHECK(diff > 1e-6);
    }
}

TEST_CASE("GptBlock and Gpt: match torch in float64 and float32") {
    const test::LayerFixture block_fx("gpt_block"), long_fx("gpt_block_long"), model_fx("gpt_model");
    for (DType dtype : {f64, f32}) {
        INFO("dtype ", dtype_name(dtype));
        const double tol = dtype == f64 ? 1e-10 : 1e-5;
        Generator gen(0);
        GptBlock block({.n_embd = 8, .n_head = 2, .dtype = dtype}, gen);
        test::check_projected_fixture(
            block, [&](const Tensor& x) { return block(x); }, block_fx, dtype, tol);
        // T = 130: attention's products skip the masked blocks; float32 sums over 130 keys round
        // a little more (worst 1.06e-5 seen)
        REQUIRE(causal_products_pay_off(130));
        test::check_projected_fixture(
            block, [&](const Tensor& x) { return block(x); }, long_fx, dtype, 3 * tol);

        const auto size = [&](const char* key) {
            return std::int64_t(model_fx.number(std::string("/config/") + key));
        };
        Gpt model({.vocab_size = size("vocab_size"),
                   .n_positions = size("n_positions"),
                   .n_embd = size("n_embd"),
                   .n_layer = size("n_layer"),
                   .n_head = size("n_head"),
                   .dtype = dtype});
        model.load_state_dict(model_fx.state("/params"));
        const Tensor tokens = model_fx.ids("/ids"), targets = model_fx.ids("/targets");
        test::check_matches("logits", model(tokens), model_fx.tensor("/logits"), tol);
        const Tensor loss = model.loss(tokens, targets);
        CHECK(std::abs(loss.item() - model_fx.number("/loss")) <= tol);
        loss.backward();
        // wte's gradient sums the lookup's and the tied head's
        for (const auto& [name, p] : model.named_parameters())
            test::check_matches("grad " + name, p.grad(), model_fx.tensor("/grads/" + name), tol);
    }
}

TEST_CASE("GptBlock: float64 gradcheck w.r.t. input and every parameter") {
    Generator gen(3);
    GptBlock block({.n_embd = 6, .n_layer = 2, .n_head = 3}, gen);
    block.to(f64);
    std::vector<Tensor> inputs{
        uniform({2, 4, 6}, -1, 1, {.dtype = f64, .seed = 1, .requires_grad = true})};
    for (const Tensor& p : block.parameters()) inputs.push_back(p);
    check_gradients([&](const std::vector<Tensor>& xs) { return block(xs[0]); }, inputs);
}

TEST_CASE("Gpt: float64 gradcheck of the loss w.r.t. every parameter") {
    Gpt model(
        {.vocab_size = 7, .n_positions = 4, .n_embd = 4, .n_layer = 1, .n_head = 2, .seed = 2});
    // larger weights than GPT-2's 0.02 so every path contributes visibly to the gradient
    test::randomize_parameters(model, 0.6, 10);
    const Tensor tokens = token_ids({1, 3, 0, 6, 2, 2}, {2, 3}),
                 targets = token_ids({3, 0, 6, 2, 2, 5}, {2, 3});
    check_gradients([&](const std::vector<Tensor>&) { return model.loss(tokens, targets); },
                    model.parameters());
}

TEST_CASE("Gpt: dropout acts in training only") {
    GptConfig c = tiny;
    c.dropout = 0.3;
    Gpt model(c);
    const Tensor tokens = token_ids({1, 2, 3, 4}, {1, 4});
    const auto first = model(tokens).to_vector();
    CHECK(model(tokens).to_vector() != first);
    model.eval();
    CHECK(model(tokens).to_vector() == model(tokens).to_vector());
}

TEST_CASE("Gpt: summary, bad configurations and inputs give clear errors") {
    Gpt model(tiny);
    model(token_ids({1, 2, 3}, {1, 3}));
    const std::string summary = model.summary();
    REQUIRE(expected_count(tiny) == 1912);
    const std::string total = "Total params: 1,912";
    for (const std::string& part :
         {std::string("h.0.attn.c_attn (Conv1D)"), std::string("[1,3,24]"),
          std::string("ln_f (LayerNorm)"), std::string("wte (Embedding)"), total})
        CHECK_MESSAGE(summary.find(part) != std::string::npos, summary, "\nmissing: ", part);
    check_throws_with<ValueError>([] { Gpt({.n_embd = 10, .n_head = 3}); },
                                  {"Gpt", "n_embd must be divisible by n_head (10 vs 3)"});
    check_throws_with<ShapeError>(
        [&] {
            model(token_ids(std::vector<std::int32_t>(9, 1), {1, 9}));
        },
        {"Gpt: ids [1,9]: sequence length exceeds n_positions (9 vs 8)"});
    check_throws_with<ValueError>([&] { model(zeros({1, 3})); }, {"Gpt", "ids must be i32 [B,T]"});
    check_throws_with<ShapeError>(
        [&] {
            model.loss(token_ids({1, 2}, {1, 2}), token_ids({1}, {1, 1}));
        },
        {"Gpt: ids [1,2], targets [1,1]"});
    Generator gen(0);
    GptBlock block(tiny, gen);
    check_throws_with<ShapeError>(
        [&] {
            block(zeros({2, 3, 6}));
        },
        {"LayerNorm 'ln_1': input [2,3,6], weight [8]"});
}
