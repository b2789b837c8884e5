// The suite's cases for softmax and the attention core, GPT's packed self-attention, losses,
// embedding, layer_norm and dropout.
#include <fmt/format.h>

#include "autograd/ops.hpp"
#include "check/gradcheck_suite_cases.hpp"
#include "core/random.hpp"

namespace tapegrad::detail {
namespace {

void add_softmax_cases(SuiteBuilder& suite) {
    for (const std::int64_t axis : {0, 1, 2, -1}) {
        const Tensor x = grad_input({2, 3, 4}, 11, -2, 2);
        suite.add(fmt::format("softmax/softmax axis {}", axis),
                  [axis](const std::vector<Tensor>& v) { return softmax(v[0], axis); }, {x});
        suite.add(fmt::format("softmax/log_softmax axis {}", axis),
                  [axis](const std::vector<Tensor>& v) { return log_softmax(v[0], axis); }, {x});
    }
    static const std::uint8_t pad[] = {1, 1, 1, 0, 0, 1, 0, 1, 1, 1};
    const Tensor padding = mask(pad, {2, 1, 1, 5});  // per batch, per key
    static const std::uint8_t q[] = {1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 1, 1};
    const Tensor per_query = mask(q, {3, 5});  // shared by all heads
    struct Row {
        const char* name;
        Tensor mask;
        double scale;
        bool causal;
    };
    const Row rows[] = {
        {"no mask", Tensor(), 1.0, false},
        {"padding", padding, 1.0, false},
        {"causal", Tensor(), 1.0, true},
        {"padding + causal, scale", padding, 0.35, true},
        {"[Tq,Tk] mask, scale", per_query, 2.5, false},
        {"[Tq,Tk] mask + causal", per_query, 0.5, true},
    };
    for (const Row& r : rows)
        suite.add(fmt::format("softmax/masked_softmax {}", r.name),
                  [r](const std::vector<Tensor>& v) {
                      return masked_softmax(v[0], r.mask, r.scale, r.causal);
                  },
                  {grad_input({2, 2, 3, 5}, 21, -2, 2)});  // [B,H,Tq,Tk]
}

// qkv [B,T,3C]: several heads over a short sequence, with and without attention dropout, and one
// past causal_products_pay_off (128), whose causal products run in blocks
void add_packed_attention_cases(SuiteBuilder& suite) {
    struct Row {
        std::int64_t batch, time, heads, head_size;
        bool causal;
        double dropout;
    };
    const Row rows[] = {{2, 5, 2, 2, true, 0.0},
                        {2, 5, 3, 1, false, 0.0},
                        {2, 4, 2, 2, true, 0.3},
                        {1, 130, 1, 2, true, 0.0}};
    for (const Row& r : rows)
        suite.add(fmt::format("packed_attention/packed_self_attention{} T {} H {}{}",
                              r.causal ? " causal" : "", r.time, r.heads,
                              r.dropout > 0 ? fmt::format(" dropout {}", r.dropout) : ""),
                  [r](const std::vector<Tensor>& v) {
                      Generator gen(9);  // a new generator per call: the same mask every time
                      return packed_self_attention(v[0], r.heads, 0.7, r.causal, {r.dropout, &gen});
                  },
                  {grad_input({r.batch, r.time, 3 * r.heads * r.head_size}, 25, -1.5, 1.5)});
    suite.add("packed_attention/merge_heads",
              [](const std::vector<Tensor>& v) { return merge_heads(v[0]); },
              {grad_input({2, 3, 4, 2}, 26)});
    suite.add("packed_attention/split_heads",
              [](const std::vector<Tensor>& v) { return split_heads(v[0], 3); },
              {grad_input({2, 4, 6}, 27)});
}

void add_loss_cases(SuiteBuilder& suite) {
    static const std::int32_t with_ignored[] = {5, -1, 0, 2, -1, 3};
    const Tensor targets = ids(with_ignored, {2, 3});
    suite.add("loss/cross_entropy, ignored targets",
              [targets](const std::vector<Tensor>& v) { return cross_entropy(v[0], targets, -1); },
              {grad_input({2, 3, 6}, 31, -2, 2)});
    static const std::int32_t all_counted[] = {5, 2, 0, 2, 1, 3};
    const Tensor counted = ids(all_counted, {2, 3});
    suite.add("loss/cross_entropy",
              [counted](const std::vector<Tensor>& v) { return cross_entropy(v[0], counted); },
              {grad_input({2, 3, 6}, 31, -2, 2)});
    suite.add("loss/mse_loss", [](const std::vector<Tensor>& v) { return mse_loss(v[0], v[1]); },
              {grad_input({3, 4}, 41), grad_input({3, 4}, 42)});
}

}  // namespace

void add_nn_op_cases(SuiteBuilder& suite) {
    add_softmax_cases(suite);
    add_packed_attention_cases(suite);
    add_loss_cases(suite);
    static const std::int32_t token_ids[] = {5, 0, 5, 2, 2, 2, 1};  // repeated ids add up
    const Tensor tokens = ids(token_ids, {7});
    suite.add("index/embedding",
              [tokens](const std::vector<Tensor>& v) { return embedding(v[0], tokens); },
              {grad_input({6, 3}, 51)});
    suite.add("norm/layer_norm",
              [](const std::vector<Tensor>& v) { return layer_norm(v[0], v[1], v[2], 1e-5); },
              {grad_input({2, 3, 5}, 62, -2, 2), grad_input({5}, 63, 0.5, 1.5),
               grad_input({5}, 64, -0.5, 0.5)});
    suite.add(
        "norm/layer_norm without weight and bias",
        [](const std::vector<Tensor>& v) { return layer_norm(v[0], Tensor(), Tensor(), 1e-3); },
        {grad_input({2, 3, 5}, 62, -2, 2)});
    suite.add(
        "dropout/dropout rate 0.4",
        [](const std::vector<Tensor>& v) {
            Generator gen(9);  // a new generator per call: every evaluation draws the same mask
            return dropout(v[0], 0.4, gen);
        },
        {grad_input({4, 6}, 72)});
}

}  // namespace tapegrad::detail
