// packed_self_attention against the unfused path it replaces in GPT (packed_heads, dot-product
// attention, merge_heads): values and gradients in float32 and float64, short sequences and ones
// whose causal products run in blocks, with and without attention dropout; its gradchecks of first
// and second order; its errors; and GPT's loss and gradients with and without it. The suite's
// cases: check/gradcheck_suite_nn_ops.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <span>

#include "autograd/gradcheck.hpp"
#include "autograd/ops.hpp"
#include "autograd/tape.hpp"
#include "core/precision.hpp"
#include "layers/attention_core.hpp"
#include "layers/gpt.hpp"
#include "support.hpp"

using namespace tapegrad;
using test::check_close;
using test::check_gradients;

namespace {

struct Sizes {
    std::int64_t batch, time, heads, head_size;
};

// GPT's attention before packed_self_attention: heads copied out, attention, heads merged.
Tensor unfused(const Tensor& qkv, std::int64_t heads, double scale, bool causal,
               AttentionDropout dropout) {
    const auto [q, k, v] = packed_heads(qkv, heads);
    const AttentionCoreOptions options{.convention = AttentionConvention::multi_head,
                                       .scale = scale,
                                       .dropout = dropout.rate,
                                       .training = true,
                                       .generator = dropout.generator};
    return merge_heads(dot_product_attention(q, k, v, {.causal = causal}, options).output);
}

// The same shape and the same values (float32 converts to double exactly).
bool same_values(const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() && a.to_vector() == b.to_vector();
}

// y and dqkv of both paths for the same qkv and upstream gradient (and dropout masks, drawn from
// two generators of one seed): equal bit for bit, as both make the same BLAS, softmax and dropout
// calls on the same numbers, only reading them from other places.
void check_same_as_unfused(Sizes s, bool causal, DType dtype, double rate = 0.0) {
    CAPTURE(s.time);
    CAPTURE(s.heads);
    CAPTURE(causal);
    CAPTURE(rate);
    CAPTURE(dtype_name(dtype));
    const double scale = 1.0 / std::sqrt(double(s.head_size));
    const Tensor qkv = uniform({s.batch, s.time, 3 * s.heads * s.head_size}, -2, 2,
                               {.dtype = dtype, .seed = 5, .requires_grad = true});
    Generator ours_gen(11), theirs_gen(11);
    const Tensor ours = packed_self_attention(qkv, s.heads, scale, causal, {rate, &ours_gen});
    const Tensor theirs = unfused(qkv, s.heads, scale, causal, {rate, &theirs_gen});
    CHECK(same_values(ours, theirs));
    const Tensor dy = uniform(ours.shape(), -1, 1, {.dtype = dtype, .seed = 6});
    ours.backward(dy);
    const Tensor dqkv = qkv.grad().detach();
    qkv.zero_grad();
    theirs.backward(dy);
    CHECK(same_values(dqkv, qkv.grad()));
}

// Runs check(s, causal, rate, qkv) for both masks and dropout off and on, qkv [B,T,3C] in float64.
template <class Check>
void for_each_f64_case(std::span<const Sizes> sizes, Check&& check) {
    for (const Sizes& s : sizes) {
        for (const bool causal : {true, false}) {
            for (const double rate : {0.0, 0.3}) {
                CAPTURE(s.time);
                CAPTURE(causal);
                CAPTURE(rate);
                const Tensor qkv = uniform({s.batch, s.time, 3 * s.heads * s.head_size}, -1.5, 1.5,
                                           {.dtype = f64, .seed = 8, .requires_grad = true});
                check(s, causal, rate, qkv);
            }
        }
    }
}

}  // namespace

TEST_CASE("packed_self_attention equals the unfused heads bit for bit, values and gradients") {
    const Sizes sizes[] = {
        {2, 1, 2, 3}, {3, 8, 4, 16}, {2, 64, 4, 16}, {1, 130, 2, 8}, {1, 200, 3, 5}};
    for (const Sizes& s : sizes) {
        for (const bool causal : {true, false}) {
            check_same_as_unfused(s, causal, f32);
            check_same_as_unfused(s, causal, f64);
            check_same_as_unfused(s, causal, f32, 0.25);
        }
    }
}

TEST_CASE("packed_self_attention equals the unfused heads under bf16 mixed precision") {
    const PrecisionScope bf16_products(Precision::bf16);
    const Sizes sizes[] = {{3, 8, 4, 16}, {1, 130, 2, 8}};
    for (const Sizes& s : sizes)
        for (const bool causal : {true, false}) check_same_as_unfused(s, causal, f32);
}

TEST_CASE("packed_self_attention: gradcheck in float64, causal or not, one block or several") {
    const Sizes sizes[] = {{2, 4, 3, 2}, {1, 130, 2, 1}};
    for_each_f64_case(sizes, [](Sizes s, bool causal, double rate, const Tensor& qkv) {
        check_gradients(
            [s, causal, rate](const std::vector<Tensor>& x) {
                Generator gen(4);  // the same mask at every evaluation
                return packed_self_attention(x[0], s.heads, 0.6, causal, {rate, &gen});
            },
            {qkv},
            {.max_elements = 64});  // a sample of T = 130's 780: minutes under the sanitizers
    });
}

TEST_CASE("packed_self_attention: second derivatives pass gradgradcheck") {
    for (const bool causal : {true, false}) {
        for (const double rate : {0.0, 0.3}) {
            CAPTURE(causal);
            CAPTURE(rate);
            const Tensor qkv =
                uniform({2, 3, 12}, -1.5, 1.5, {.dtype = f64, .seed = 9, .requires_grad = true});
            const GradcheckReport r = gradgradcheck(
                [causal, rate](const std::vector<Tensor>& x) {
                    Generator gen(4);
                    return packed_self_attention(x[0], 2, 0.8, causal, {rate, &gen});
                },
                {qkv});
            INFO(r.message());
            CHECK(r.ok);
        }
    }
}

// The create_graph gradient must equal the fast one (gradgradcheck now checks that too, first);
// here also at T = 130, the causal block path, which the gradgradcheck above does not reach.
TEST_CASE("packed_self_attention: the create_graph gradient equals the fast one") {
    const Sizes sizes[] = {{2, 5, 2, 3}, {1, 130, 2, 2}};
    for_each_f64_case(sizes, [](Sizes s, bool causal, double rate, const Tensor& qkv) {
        Generator gen(4);
        const Tensor y = packed_self_attention(qkv, s.heads, 0.6, causal, {rate, &gen});
        const Tensor dy = uniform(y.shape(), -1, 1, {.dtype = f64, .seed = 13});
        const Tensor recorded = grad({y}, {qkv}, {.grad_outputs = {dy}, .create_graph = true})[0];
        const Tensor fast = grad({y}, {qkv}, {.grad_outputs = {dy}})[0];
        check_close(recorded, fast, 1e-12, 1e-10);
    });
}

TEST_CASE("packed_self_attention: errors name the op and the shape") {
    using test::check_throws_with;
    check_throws_with<ShapeError>(
        [] {
            packed_self_attention(zeros({2, 3, 10}), 2, 1.0, true);
        },
        {"packed_self_attention: qkv [2,3,10], heads 2:", "10 is not divisible by 6"});
    check_throws_with<ShapeError>(
        [] {
            packed_self_attention(zeros({3, 12}), 2, 1.0, true);
        },
        {"packed_self_attention: qkv [3,12], heads 2:", "expected [B,T,3C] (got rank 2)"});
    check_throws_with<ShapeError>(
        [] {
            packed_self_attention(zeros({1, 3, 12}), 0, 1.0, false);
        },
        {"packed_self_attention: qkv [1,3,12], heads 0:", "heads must be positive"});
    check_throws_with<ValueError>(
        [] {
            packed_self_attention(zeros({1, 3, 12}, {.dtype = b8}), 2, 1.0, false);
        },
        {"packed_self_attention: qkv [1,3,12], heads 2:", "floating"});
    check_throws_with<ValueError>(
        [] {
            packed_self_attention(zeros({1, 3, 12}), 2, 1.0, false, {.rate = 0.5});
        },
        {"packed_self_attention: qkv [1,3,12]: dropout rate 0.5", "with a generator"});
}

TEST_CASE("Gpt: the loss and every gradient are bit for bit the same with packed attention") {
    std::vector<std::int32_t> ids(2 * 9);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int32_t>(i * 7 % 11);
    const Tensor x = tapegrad::ids(ids, {2, 9});
    const Tensor y = tapegrad::ids(std::vector<std::int32_t>(ids.rbegin(), ids.rend()), {2, 9});
    // a new model's loss and gradients; keeping the attention weights takes the unfused path
    const auto run = [&](double dropout, bool unfused_path) {
        Gpt model({.vocab_size = 11,
                   .n_positions = 9,
                   .n_embd = 12,
                   .n_layer = 2,
                   .n_head = 3,
                   .dropout = dropout,
                   .seed = 4});
        for (std::size_t i = 0; i < model.blocks().size(); ++i)
            model.blocks()[i].attention().keep_attention_weights(unfused_path);
        const Tensor loss = model.loss(x, y);
        loss.backward();
        std::vector<Tensor> out{loss.detach()};
        for (const auto& [name, p] : model.named_parameters()) out.push_back(p.grad().detach());
        return out;
    };
    for (const double dropout : {0.0, 0.2}) {  // dropout: training mode draws the same masks
        CAPTURE(dropout);
        const std::vector<Tensor> packed = run(dropout, false), reference = run(dropout, true);
        REQUIRE(packed.size() == reference.size());
        for (std::size_t i = 0; i < packed.size(); ++i) {
            CAPTURE(i);
            CHECK(same_values(packed[i], reference[i]));
        }
    }
}
