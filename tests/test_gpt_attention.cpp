// Attention maps: Gpt::attention_maps and SequenceTransformer::attention_maps, the weights the
// heatmaps draw.
#include <doctest/doctest.h>

#include <cmath>

#include "layers/gpt.hpp"
#include "layers/sequence_transformer.hpp"
#include "support.hpp"

using namespace tapegrad;
using test::check_throws_with;

namespace {

const GptConfig tiny{.vocab_size = 11,
                     .n_positions = 8,
                     .n_embd = 16,
                     .n_layer = 2,
                     .n_head = 4,
                     .dropout = 0.5,
                     .seed = 3,
                     .dtype = f64};

Tensor prompt_ids() {
    return ids(std::vector<std::int32_t>{1, 4, 2, 9, 0, 3, 3, 7, 10, 5}, {2, 5});
}

// Each row of weights [B,H,T,T] sums to 1.
void check_rows_sum_to_one(const Tensor& weights, double tolerance) {
    const std::vector<double> w = weights.to_vector();
    const auto t = static_cast<std::size_t>(weights.dim(-1));
    for (std::size_t row = 0; row < w.size() / t; ++row) {
        double sum = 0;
        for (std::size_t j = 0; j < t; ++j) sum += w[row * t + j];
        INFO("row ", row);
        CHECK(std::abs(sum - 1.0) <= tolerance);
    }
}

// Layer 0's weights of one head, from the parameters by plain loops in double:
// x = wte[id] + wpe[t]; y = ln_1(x); q, k = columns of y @ c_attn.weight + c_attn.bias;
// a[i,j] = softmax_j≤i (q_i·k_j / √D).
std::vector<double> manual_head(const Gpt& model, const std::vector<std::int32_t>& tokens,
                                std::int64_t head) {
    const StateDict sd = model.state_dict();
    const auto C = model.config().n_embd, D = C / model.config().n_head;
    const auto T = static_cast<std::int64_t>(tokens.size());
    const Tensor &wte = sd.at("wte.weight"), &wpe = sd.at("wpe.weight");
    const Tensor &g = sd.at("h.0.ln_1.weight"), &b = sd.at("h.0.ln_1.bias");
    const Tensor &w = sd.at("h.0.attn.c_attn.weight"), &bias = sd.at("h.0.attn.c_attn.bias");
    std::vector<double> q(T * D), k(T * D);
    for (std::int64_t t = 0; t < T; ++t) {
        std::vector<double> x(C);
        double mean = 0, var = 0;
        for (std::int64_t c = 0; c < C; ++c) mean += x[c] = wte.at({tokens[t], c}) + wpe.at({t, c});
        mean /= double(C);
        for (double v : x) var += (v - mean) * (v - mean) / double(C);
        for (std::int64_t c = 0; c < C; ++c)
            x[c] = (x[c] - mean) / std::sqrt(var + 1e-5) * g.at({c}) + b.at({c});
        for (std::int64_t d = 0; d < D; ++d) {
            double qd = bias.at({head * D + d}), kd = bias.at({C + head * D + d});
            for (std::int64_t c = 0; c < C; ++c)
                qd += x[c] * w.at({c, head * D + d}), kd += x[c] * w.at({c, C + head * D + d});
            q[t * D + d] = qd, k[t * D + d] = kd;
        }
    }
    std::vector<double> a(T * T, 0.0);
    for (std::int64_t i = 0; i < T; ++i) {
        double total = 0;
        for (std::int64_t j = 0; j <= i; ++j) {
            double s = 0;
            for (std::int64_t d = 0; d < D; ++d) s += q[i * D + d] * k[j * D + d];
            total += a[i * T + j] = std::exp(s / std::sqrt(double(D)));
        }
        for (std::int64_t j = 0; j <= i; ++j) a[i * T + j] /= total;
    }
    return a;
}

}  // namespace

TEST_CASE("Gpt attention maps: one B×H×T×T tensor per layer, rows sum to 1, causal, no tape") {
    Gpt model(tiny);
    const std::vector<Tensor> maps = model.attention_maps(prompt_ids());
    REQUIRE(maps.size() == 2);
    for (const Tensor& m : maps) {
        CHECK(fmt::format("{}", m.shape()) == "[2,4,5,5]");
        CHECK(m.dtype() == f64);
        CHECK(m.is_leaf());
        CHECK_FALSE(m.requires_grad());
        check_rows_sum_to_one(m, 1e-12);
        for (std::int64_t b = 0; b < 2; ++b)
            for (std::int64_t h = 0; h < 4; ++h)
                for (std::int64_t i = 0; i < 5; ++i)
                    for (std::int64_t j = 0; j < 5; ++j) {
                        INFO("b ", b, " h ", h, " i ", i, " j ", j);
                        if (j > i)
                            CHECK(m.at({b, h, i, j}) == 0.0);  // exactly, not just small
                        else
                            CHECK(m.at({b, h, i, j}) > 0.0);
                    }
    }
    CHECK(maps[0].at({0, 0, 0, 0}) == 1.0);  // the first query sees only itself
}

TEST_CASE("Gpt attention maps: layer 0 equals a recomputation from the parameters") {
    Gpt model(tiny);
    const std::vector<Tensor> maps = model.attention_maps(prompt_ids());
    for (std::int64_t head : {0, 3}) {
        const std::vector<double> expected = manual_head(model, {3, 3, 7, 10, 5}, head);  // row 1
        for (std::int64_t i = 0; i < 5; ++i)
            for (std::int64_t j = 0; j < 5; ++j) {
                INFO("head ", head, " i ", i, " j ", j);
                CHECK(std::abs(maps[0].at({1, head, i, j}) - expected[i * 5 + j]) < 1e-12);
            }
    }
}

TEST_CASE("Gpt attention maps: eval without dropout, the mode restored, nothing kept afterwards") {
    Gpt model(tiny);  // dropout 0.5: a training-mode pass would differ from call to call
    REQUIRE(model.is_training());
    const std::vector<Tensor> first = model.attention_maps(prompt_ids());
    const std::vector<Tensor> second = model.attention_maps(prompt_ids());
    CHECK(first[1].to_vector() == second[1].to_vector());
    CHECK(model.is_training());
    GptBlock& block = model.blocks()[0];
    CHECK_FALSE(block.attention().attention_weights().defined());
    model(prompt_ids());  // an ordinary forward keeps nothing either
    CHECK_FALSE(block.attention().attention_weights().defined());
    model.eval();
    model.attention_maps(prompt_ids());
    CHECK_FALSE(model.is_training());
}

TEST_CASE("Gpt attention maps: bad ids are rejected before any work") {
    Gpt model(tiny);
    check_throws_with<ValueError>(
        [&] {
            model.attention_maps(zeros({1, 3}));
        },
        {"Gpt", "ids must be i32 [B,T]", "f32"});
    check_throws_with<ShapeError>(
        [&] {
            model.attention_maps(ids(std::vector<std::int32_t>(9, 1), {1, 9}));
        },
        {"Gpt", "ids [1,9]", "exceeds n_positions (9 vs 8)"});
    CHECK(model.is_training());
}

TEST_CASE("SequenceTransformer attention maps: MultiHeadAttention's scores of every block") {
    SequenceTransformer model({.vocab_size = 10,
                               .classes = 10,
                               .max_len = 6,
                               .width = 16,
                               .layers = 2,
                               .heads = 2,
                               .dropout = 0.3,
                               .seed = 5});
    const Tensor x = ids(std::vector<std::int32_t>{3, 1, 4, 1, 5, 9}, {1, 6});
    const std::vector<Tensor> maps = model.attention_maps(x);
    REQUIRE(maps.size() == 2);
    for (const Tensor& m : maps) {
        CHECK(fmt::format("{}", m.shape()) == "[1,2,6,6]");
        CHECK_FALSE(m.requires_grad());
        check_rows_sum_to_one(m, 1e-5);
        CHECK(m.at({0, 0, 0, 5}) > 0.0);  // an encoder: every position sees every other
    }
    CHECK(maps[0].to_vector() != maps[1].to_vector());
    CHECK(model.is_training());  // dropout was off through the call's flag, not the mode
    CHECK(model.attention_maps(x)[1].to_vector() == maps[1].to_vector());
}
