// Generation: the KV cache (Gpt::forward_cached) against the full forward pass, generate_tokens
// with and without it, and the nucleus and repetition-penalty rules of sample_token.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/ops/shape.hpp"
#include "autograd/tape.hpp"
#include "layers/gpt.hpp"
#include "support.hpp"
#include "train/generate.hpp"

using namespace tapegrad;

namespace {

GptConfig config(DType dtype) {
    return {.vocab_size = 11,
            .n_positions = 12,
            .n_embd = 16,
            .n_layer = 2,
            .n_head = 4,
            .seed = 5,
            .dtype = dtype};
}

std::vector<std::int32_t> some_ids(std::size_t n) {
    std::vector<std::int32_t> v;
    for (std::size_t i = 0; i < n; ++i) v.push_back(static_cast<std::int32_t>((i * 7 + 3) % 11));
    return v;
}

// Max |a − b| over two tensors of one shape.
double max_diff(const Tensor& a, const Tensor& b) {
    const std::vector<double> x = a.to_vector(), y = b.to_vector();
    REQUIRE(x.size() == y.size());
    double m = 0;
    for (std::size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(x[i] - y[i]));
    return m;
}

}  // namespace

TEST_CASE("Gpt::forward_cached: a prompt, then one token at a time, gives the full pass's logits") {
    for (DType dtype : {f64, f32}) {
        Gpt model(config(dtype));
        model.eval();
        NoGrad no_grad;
        const std::vector<std::int32_t> all = some_ids(12);
        const Tensor full = model(ids(all, {1, 12}));  // [1,12,V]
        KvCache cache;
        const Tensor prompt = model.forward_cached(ids(std::span(all).first(5), {1, 5}), cache);
        CHECK(cache.length == 5);
        CHECK(max_diff(prompt, slice(full, 1, 0, 5)) < (dtype == f64 ? 1e-12 : 1e-5));
        for (std::int64_t t = 5; t < 12; ++t) {
            const Tensor step =
                model.forward_cached(ids(std::span(all).subspan(t, 1), {1, 1}), cache);
            CHECK(max_diff(step, slice(full, 1, t, t + 1)) < (dtype == f64 ? 1e-12 : 1e-5));
        }
        CHECK(cache.keys[1].shape() == Shape{1, 4, 12, 4});
        test::check_throws_with<ShapeError>(
            [&] {
                model.forward_cached(ids(some_ids(1), {1, 1}), cache);
            },
            {"exceeds n_positions (13 vs 12)"});
        KvCache two;
        model.forward_cached(ids(some_ids(3), {1, 3}), two);
        test::check_throws_with<ShapeError>(
            [&] {
                model.forward_cached(ids(some_ids(2), {1, 2}), two);
            },
            {"one token at a time"});
    }
}

TEST_CASE("generate_tokens: the cache changes the speed, not the tokens, also past the context") {
    Gpt model(config(f64));
    for (const SamplingOptions& s :
         {SamplingOptions{.temperature = 0},
          SamplingOptions{.temperature = 0.9, .top_k = 5, .top_p = 0.9}}) {
        Generator a(11), b(11);
        const auto cached = generate_tokens(model, {1, 2, 3}, 20, s, a, {.kv_cache = true});
        const auto fresh = generate_tokens(model, {1, 2, 3}, 20, s, b, {.kv_cache = false});
        CHECK(cached.size() ==
              23);  // 23 > n_positions 12: the last 11 steps read the window afresh
        CHECK(cached == fresh);
    }
    CHECK(model.is_training());
}

TEST_CASE(
    "sample_token: top_p keeps the smallest nucleus, repetition_penalty lowers repeated tokens") {
    // probabilities ∝ e^z: 0.6439, 0.2369, 0.0871, 0.0321 for z = 3, 2, 1, 0
    const Tensor logits = from({1.0, 3.0, 0.0, 2.0}, {4});
    Generator gen(4);
    for (int i = 0; i < 200; ++i) {
        CHECK(sample_token(logits, {.top_p = 0.5}, gen) == 1);  // the best token alone holds 0.64
        const auto t = sample_token(logits, {.top_p = 0.8}, gen);  // needs the best two: 0.88
        CHECK((t == 1 || t == 3));
    }
    const std::vector<std::int32_t> history{1, 1};
    // z[1] = 3 / 2 = 1.5 < z[3] = 2: greedy now picks token 3; a negative logit is multiplied.
    CHECK(sample_token(logits, {.temperature = 0, .repetition_penalty = 2.0}, gen, history) == 3);
    CHECK(sample_token(from({-1.0, -0.8}, {2}), {.temperature = 0, .repetition_penalty = 2.0}, gen,
                       std::vector<std::int32_t>{1}) == 0);  // −0.8·2 = −1.6 < −1
    test::check_throws_with<ValueError>([&] { sample_token(logits, {.top_p = 0}, gen); },
                                        {"top_p 0"});
    test::check_throws_with<ValueError>(
        [&] { sample_token(logits, {.repetition_penalty = 0}, gen); }, {"repetition_penalty 0"});
}
