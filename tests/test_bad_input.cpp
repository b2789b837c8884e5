// Wrong arguments and inputs to the public layers: each is a tapegrad Error whose message names
// the layer and the numbers, raised before any work, never a crash.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>

#include "io/tokenizer.hpp"
#include "layers/additive_attention.hpp"
#include "layers/dense.hpp"
#include "layers/dropout.hpp"
#include "layers/embedding.hpp"
#include "layers/gpt.hpp"
#include "layers/layer_norm.hpp"
#include "layers/multi_head_attention.hpp"
#include "layers/sequence_transformer.hpp"
#include "support.hpp"
#include "train/data.hpp"

using namespace tapegrad;
using test::check_throws_with;

namespace {

const double nan_value = std::numeric_limits<double>::quiet_NaN();

Tensor token_ids(std::initializer_list<std::int32_t> values, const Shape& shape) {
    return ids(std::span(values.begin(), values.size()), shape);
}

Tensor b8_ones(const Shape& shape) {
    const std::vector<std::uint8_t> values(static_cast<std::size_t>(shape.numel()), 1);
    return mask(values, shape);
}

}  // namespace

TEST_CASE("bad input: Dense refuses non-positive sizes and inputs of the wrong width or dtype") {
    check_throws_with<ValueError>([] { Dense(0, {.units = 3}); },
                                  {"Dense: in_features must be positive (got 0)"});
    check_throws_with<ValueError>([] { Dense(4, {.units = -2}); },
                                  {"Dense: units must be positive (got -2)"});
    Dense dense(4, {.units = 3});
    check_throws_with<ShapeError>(
        [&] {
            dense(zeros({2, 5}));
        },
        {"Dense: input [2,5], kernel [4,3]", "(5 vs 4)"});
    check_throws_with<ShapeError>([&] { dense(zeros({})); }, {"Dense: input [], kernel [4,3]"});
    check_throws_with<ValueError>(
        [&] {
            dense(token_ids({1, 2, 3, 4}, {1, 4}));
        },
        {"Dense: input [1,4] is i32"});
    check_throws_with<ValueError>([&] { dense(Tensor()); },
                                  {"Dense: the input is an undefined tensor"});
}

TEST_CASE("bad input: Embedding refuses ids outside the vocabulary, negative ids, float ids") {
    check_throws_with<ValueError>([] { Embedding(0, 4); },
                                  {"Embedding: input_dim and output_dim must be positive (got 0 "
                                   "and 4)"});
    check_throws_with<ValueError>([] { Embedding(5, -1); }, {"(got 5 and -1)"});
    Embedding embedding(10, 4);
    check_throws_with<ValueError>(
        [&] {
            embedding(token_ids({3, 10}, {2}));
        },
        {"Embedding", "id 10 is outside the vocabulary [0, 10)"});
    check_throws_with<ValueError>([&] { embedding(token_ids({-1}, {1})); },
                                  {"Embedding", "id -1 is outside the vocabulary [0, 10)"});
    check_throws_with<ValueError>([&] { embedding(zeros({2})); },
                                  {"Embedding: ids [2] must be i32 token ids (got f32)"});
    CHECK(embedding(token_ids({0, 9}, {2})).shape() == Shape{2, 4});
}

TEST_CASE("bad input: LayerNorm refuses a bad size or epsilon and a wrong width") {
    check_throws_with<ValueError>([] { LayerNorm(-1); },
                                  {"LayerNorm: normalized_size must be positive (got -1)"});
    check_throws_with<ValueError>([] { LayerNorm(4, {.epsilon = 0}); },
                                  {"LayerNorm: epsilon must be positive (got 0)"});
    check_throws_with<ValueError>([] { LayerNorm(4, {.epsilon = nan_value}); },
                                  {"LayerNorm: epsilon must be positive (got nan)"});
    LayerNorm norm(4);
    check_throws_with<ShapeError>(
        [&] {
            norm(zeros({3, 5}));
        },
        {"LayerNorm: input [3,5], weight [4]", "(5 vs 4)"});
}

TEST_CASE("bad input: Dropout refuses a rate below 0 or from 1 up") {
    for (double rate : {1.0, 1.5, -0.1, nan_value}) {
        INFO("rate ", rate);
        check_throws_with<ValueError>([&] { Dropout({.rate = rate}); },
                                      {"Dropout: rate must be in [0, 1) (got "});
    }
    check_throws_with<ValueError>([] { Dropout({.rate = 1.0}); }, {"(got 1)"});
    CHECK_NOTHROW(Dropout({.rate = 0.0}));
}

TEST_CASE("bad input: Attention and AdditiveAttention name mismatched widths and masks") {
    Attention attention;
    const Tensor q = zeros({2, 3, 4}), v = zeros({2, 5, 4});
    check_throws_with<ShapeError>(
        [&] {
            attention(q, zeros({2, 5, 6}));
        },
        {"Attention: query [2,3,4], key [2,5,6]", "feature sizes differ (4 vs 6)"});
    check_throws_with<ShapeError>(
        [&] {
            attention(zeros({3, 4}), v);
        },
        {"Attention", "query [3,4]", "rank"});
    check_throws_with<ShapeError>(
        [&] {
            attention(q, zeros({1, 5, 4}));
        },
        {"Attention: query [2,3,4], value [1,5,4]", "(2 vs 1)"});
    check_throws_with<ShapeError>(
        [&] {
            attention(q, v, zeros({2, 6, 4}));
        },
        {"Attention: value [2,5,4], key [2,6,4]", "(5 vs 6)"});
    check_throws_with<ShapeError>(
        [&] {
            attention(q, v, {}, {.query_mask = b8_ones({2, 4})});
        },
        {"Attention", "query_mask [2,4]", "[2,3]"});
    check_throws_with<ShapeError>(
        [&] {
            attention(q, v, {}, {.attention_mask = b8_ones({2, 3, 4})});
        },
        {"Attention", "attention_mask [2,3,4]", "[2,3,5]"});
    check_throws_with<ValueError>([] { Attention({.dropout = 1.0}); },
                                  {"Attention: dropout 1 is outside [0, 1)"});
    check_throws_with<ValueError>([] { AdditiveAttention(0); },
                                  {"AdditiveAttention: dim must be positive (got 0)"});
    AdditiveAttention additive(8);
    check_throws_with<ShapeError>([&] { additive(q, v); },
                                  {"AdditiveAttention: query [2,3,4], dim [8]", "(4 vs 8)"});
}

TEST_CASE("bad input: MultiHeadAttention names bad sizes, widths and masks") {
    check_throws_with<ValueError>([] { MultiHeadAttention(8, {.num_heads = 0, .key_dim = 4}); },
                                  {"MultiHeadAttention: num_heads must be positive (got 0)"});
    check_throws_with<ValueError>([] { MultiHeadAttention(8, {.num_heads = 2, .key_dim = -4}); },
                                  {"MultiHeadAttention: key_dim must be positive (got -4)"});
    check_throws_with<ValueError>(
        [] { MultiHeadAttention(8, {.num_heads = 2, .key_dim = 4, .dropout = -0.5}); },
        {"MultiHeadAttention: dropout -0.5 is outside [0, 1)"});
    MultiHeadAttention mha(8, {.num_heads = 2, .key_dim = 4, .value_input_dim = 6});
    const Tensor q = zeros({2, 3, 8}), v = zeros({2, 5, 6});
    check_throws_with<ShapeError>(
        [&] {
            mha(zeros({2, 3, 6}), v);
        },
        {"MultiHeadAttention: query [2,3,6], query.kernel [8,2,4]", "(6 vs 8)"});
    check_throws_with<ShapeError>(
        [&] {
            mha(q, zeros({2, 5, 8}));
        },
        {"MultiHeadAttention: value [2,5,8], value.kernel [6,2,4]", "(8 vs 6)"});
    check_throws_with<ShapeError>(
        [&] {
            mha(q, v, {}, {.value_mask = b8_ones({2, 3})});
        },
        {"MultiHeadAttention", "value_mask [2,3]", "[2,5]"});
    check_throws_with<ShapeError>(
        [&] {
            mha(q, v, {}, {.attention_mask = b8_ones({2, 3, 3, 5})});
        },
        {"MultiHeadAttention", "attention_mask [2,3,3,5]"});
    CHECK(Tensor(mha(q, v)).shape() == Shape{2, 3, 8});
}

TEST_CASE("bad input: a GptConfig with bad sizes or heads that do not divide the width") {
    check_throws_with<ValueError>(
        [] { Gpt({.vocab_size = -5, .n_positions = 8, .n_embd = 8, .n_layer = 1, .n_head = 2}); },
        {"Gpt: sizes must be positive (vocab_size -5, n_positions 8"});
    check_throws_with<ValueError>(
        [] { Gpt({.vocab_size = 5, .n_positions = 8, .n_embd = 8, .n_layer = -1, .n_head = 2}); },
        {"Gpt", "n_layer -1"});
    check_throws_with<ValueError>(
        [] { Gpt({.vocab_size = 5, .n_positions = 8, .n_embd = 30, .n_layer = 1, .n_head = 4}); },
        {"Gpt: n_embd must be divisible by n_head (30 vs 4)"});
    check_throws_with<ValueError>(
        [] {
            Gpt({.vocab_size = 5,
                 .n_positions = 8,
                 .n_embd = 8,
                 .n_layer = 1,
                 .n_head = 2,
                 .dropout = 1.0});
        },
        {"Gpt: dropout must be in [0, 1) (got 1)"});
    check_throws_with<ValueError>([] { SequenceTransformer({.width = 30, .heads = 4}); },
                                  {"SequenceTransformer: width 30 must be a positive multiple of "
                                   "heads 4"});
    Gpt gpt({.vocab_size = 5, .n_positions = 4, .n_embd = 8, .n_layer = 1, .n_head = 2});
    check_throws_with<ShapeError>(
        [&] {
            gpt(token_ids({0, 1, 2, 3, 4}, {1, 5}));
        },
        {"Gpt: ids [1,5]", "exceeds n_positions (5 vs 4)"});
    check_throws_with<ValueError>(
        [&] {
            gpt(token_ids({0, 5}, {1, 2}));
        },
        {"Embedding 'wte'", "id 5 is outside the vocabulary [0, 5)"});
    check_throws_with<ValueError>(
        [&] {
            gpt(token_ids({0, 1}, {2}));
        },
        {"Gpt: ids must be i32 [B,T] (got i32 [2])"});
    check_throws_with<ShapeError>(
        [&] {
            gpt.loss(token_ids({0, 1}, {1, 2}), token_ids({1}, {1, 1}));
        },
        {"Gpt: ids [1,2], targets [1,1]"});
}

TEST_CASE("bad input: TokenData too short for the context, bad batch sizes and steps") {
    const TokenData data(std::vector<std::int32_t>(10, 1));
    check_throws_with<ValueError>([&] { data.batch(0, 4, 8); },
                                  {"data: 10 tokens are too few for one batch of 4×8 (needs at "
                                   "least 33)"});
    check_throws_with<ValueError>([&] { data.batches_per_epoch(0, 8); },
                                  {"data: batch size 0 and sequence length 8 must be positive"});
    check_throws_with<ValueError>([&] { data.batch(-1, 1, 4); }, {"data: step -1 is negative"});
    check_throws_with<ValueError>([] { TokenData({}).batch(0, 1, 1); },
                                  {"data: 0 tokens are too few for one batch of 1×1"});
    check_throws_with<ValueError>([&] { data.split(1.0); },
                                  {"data: validation fraction 1 must be in [0, 1)"});
    CHECK(data.batches_per_epoch(1, 9) == 1);  // 9 inputs and 9 targets fit in 10 tokens
}

TEST_CASE("bad input: CharTokenizer names unknown characters and ids") {
    const CharTokenizer tok = CharTokenizer::from_text("abc");
    check_throws_with<ValueError>([&] { tok.encode("abz"); },
                                  {"tokenizer: character \"z\" (byte 122) at position 2 is not "
                                   "in the vocabulary of 3 characters"});
    check_throws_with<ValueError>(
        [&] {
            tok.decode({0, 3});
        },
        {"tokenizer: id 3 is outside the vocabulary [0, 3)"});
    check_throws_with<ValueError>([&] { tok.decode({-1}); }, {"id -1"});
    check_throws_with<ValueError>([] { CharTokenizer::from_vocabulary("aba"); },
                                  {"tokenizer: vocabulary repeats the character \"a\""});
}

TEST_CASE("bad input: sizes whose element or byte count overflows are refused, never wrapped") {
    const std::int64_t huge = std::int64_t{1} << 62;
    check_throws_with<ShapeError>([&] { Embedding(huge, 4); },
                                  {"shape: [4611686018427387904,4]", "2^63"});
    check_throws_with<ShapeError>([&] { Dense(4, {.units = huge}); }, {"2^63"});
    // 2^31 · 2^31 elements fit in 64 bits, their 2^64 bytes do not.
    const std::int64_t wide = std::int64_t{1} << 31;
    check_throws_with<ValueError>(
        [&] {
            Gpt({.vocab_size = wide, .n_positions = 4, .n_embd = wide, .n_layer = 0, .n_head = 1});
        },
        {"[2147483648,2147483648]", "bytes"});
}
