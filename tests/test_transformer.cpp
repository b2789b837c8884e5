#include <doctest/doctest.h>

#include <cmath>

#include "autograd/ops.hpp"
#include "layers/transformer.hpp"
#include "support.hpp"

using namespace tapegrad;
using test::check_gradients;
using test::check_throws_with;

namespace {

constexpr std::int64_t d = 4;
const TransformerBlockOptions small{
    .num_heads = 2, .dff = 6, .dropout_rate = 0.0, .key_dim = 3, .seed = 1};

std::vector<std::string> names_of(const Module& m) {
    std::vector<std::string> out;
    for (const auto& [name, t] : m.named_parameters())
        out.push_back(name + fmt::format("{}", t.shape()));
    return out;
}

// The entries of `state` under `prefix.`, with the prefix removed, to load into a standalone layer.
StateDict under(const StateDict& state, const std::string& prefix) {
    StateDict out;
    for (const auto& [name, t] : state)
        if (name.rfind(prefix + ".", 0) == 0) out[name.substr(prefix.size() + 1)] = t;
    return out;
}

// The encoder block rebuilt from standalone layers holding its weights: the formula, written out.
Tensor reference_encoder(const TransformerEncoderBlock& block, const Tensor& x, bool norm_first) {
    const StateDict s = block.state_dict();
    MultiHeadAttention mha(d, {.num_heads = 2, .key_dim = 3});
    LayerNorm ln1(d, {.epsilon = 1e-3}), ln2(d, {.epsilon = 1e-3});
    Dense fc(d, {.units = 6, .activation = Activation::relu}), proj(6, {.units = d});
    mha.load_state_dict(under(s, "self_attention"));
    ln1.load_state_dict(under(s, "self_attention_norm"));
    ln2.load_state_dict(under(s, "ffn_norm"));
    fc.load_state_dict(under(s, "ffn.dense"));
    proj.load_state_dict(under(s, "ffn.dense_1"));
    if (norm_first) {
        const Tensor h1 = ln1(x), h = x + mha(h1, h1, h1).output;
        return h + proj(fc(ln2(h)));
    }
    const Tensor h = ln1(x + mha(x, x, x).output);
    return ln2(h + proj(fc(h)));
}

}  // namespace

TEST_CASE("TransformerEncoderBlock: children and parameter names") {
    TransformerEncoderBlock block(d, small);
    CHECK(names_of(block) ==
          std::vector<std::string>{
              "self_attention.query.kernel[4,2,3]", "self_attention.query.bias[2,3]",
              "self_attention.key.kernel[4,2,3]", "self_attention.key.bias[2,3]",
              "self_attention.value.kernel[4,2,3]", "self_attention.value.bias[2,3]",
              "self_attention.attention_output.kernel[2,3,4]",
              "self_attention.attention_output.bias[4]", "self_attention_norm.weight[4]",
              "self_attention_norm.bias[4]", "ffn.dense.kernel[4,6]", "ffn.dense.bias[6]",
              "ffn.dense_1.kernel[6,4]", "ffn.dense_1.bias[4]", "ffn_norm.weight[4]",
              "ffn_norm.bias[4]"});
    TransformerDecoderBlock decoder(d, {.num_heads = 2, .dff = 6, .context_dim = 5});
    const StateDict s = decoder.state_dict();
    CHECK(s.at("cross_attention.key.kernel").shape() == Shape{5, 2, 4});  // key_dim 0 = d_model
    CHECK(s.at("cross_attention.value.kernel").shape() == Shape{5, 2, 4});
    CHECK(s.at("cross_attention_norm.weight").shape() == Shape{4});
    // self-attention 3·(32+8)+32+4, cross-attention (32+8)+2·(40+8)+32+4, three norms, ffn 30+28
    CHECK(decoder.parameter_count() == 156 + 172 + 24 + 58);
}

TEST_CASE("TransformerEncoderBlock: post-LN by default, pre-LN with norm_first, as the formulas") {
    const Tensor x = uniform({2, 3, d}, -1, 1, {.seed = 3});
    for (bool norm_first : {false, true}) {
        INFO("norm_first ", norm_first);
        TransformerBlockOptions o = small;
        o.key_dim = 3;
        o.norm_first = norm_first;
        TransformerEncoderBlock block(d, o);
        // non-trivial norms so a swapped norm would show
        block.load_state_dict({{"self_attention_norm.weight", uniform({d}, 0.5, 1.5, {.seed = 4})},
                               {"ffn_norm.bias", uniform({d}, -0.5, 0.5, {.seed = 5})}},
                              /*strict=*/false);
        const Tensor y = block(x);
        CHECK(y.shape() == Shape{2, 3, d});
        test::check_close(y, reference_encoder(block, x, norm_first), 1e-5, 1e-5);
    }
}

TEST_CASE("TransformerDecoderBlock: causal in x, padding in the context is ignored") {
    TransformerDecoderBlock block(
        d, {.num_heads = 2, .dff = 6, .dropout_rate = 0.0, .context_dim = 5, .seed = 2});
    const Tensor x = uniform({1, 4, d}, -1, 1, {.seed = 6});
    Tensor later = x.clone();
    later.data<float>()[3 * d + 1] += 1.0f;  // change position 3 only
    const Tensor context = uniform({1, 3, 5}, -1, 1, {.seed = 7});
    Tensor padded = context.clone();
    padded.data<float>()[2 * 5] += 1.0f;  // change context position 2, which the mask hides
    const Tensor context_mask = mask(std::vector<std::uint8_t>{1, 1, 0}, {1, 3});
    const Tensor y = block(x, context, {.context_mask = context_mask});
    const Tensor y_later = block(later, context, {.context_mask = context_mask});
    const Tensor y_padded = block(x, padded, {.context_mask = context_mask});
    const auto a = y.to_vector(), b = y_later.to_vector(), c = y_padded.to_vector();
    for (std::size_t i = 0; i < a.size(); ++i) {
        INFO("element ", i);
        CHECK(c[i] == doctest::Approx(a[i]).epsilon(1e-6));
        if (i < 3 * d) CHECK(b[i] == doctest::Approx(a[i]).epsilon(1e-6));
    }
    CHECK(std::abs(b[3 * d] - a[3 * d]) > 1e-4);
    CHECK(block(x, padded).to_vector() != a);  // without the mask the change is seen
}

TEST_CASE("Transformer blocks: float64 gradcheck w.r.t. inputs and every parameter") {
    for (bool norm_first : {false, true}) {
        INFO("norm_first ", norm_first);
        TransformerBlockOptions o = small;
        o.norm_first = norm_first;
        o.context_dim = 3;
        TransformerEncoderBlock encoder(d, o);
        TransformerDecoderBlock decoder(d, o);
        encoder.to(f64);
        decoder.to(f64);
        const Tensor x =
            uniform({2, 3, d}, -1, 1, {.dtype = f64, .seed = 8, .requires_grad = true});
        const Tensor context =
            uniform({2, 2, 3}, -1, 1, {.dtype = f64, .seed = 9, .requires_grad = true});
        const Tensor pad = mask(std::vector<std::uint8_t>{1, 1, 1, 1, 1, 0}, {2, 3});
        std::vector<Tensor> inputs{x};
        for (const Tensor& p : encoder.parameters()) inputs.push_back(p);
        check_gradients(
            [&](const std::vector<Tensor>& xs) { return encoder(xs[0], {.mask = pad}); }, inputs);
        inputs = {x, context};
        for (const Tensor& p : decoder.parameters()) inputs.push_back(p);
        check_gradients([&](const std::vector<Tensor>& xs) { return decoder(xs[0], xs[1]); },
                        inputs);
    }
}

TEST_CASE("Transformer blocks: dropout only while training") {
    TransformerEncoderBlock block(d, {.num_heads = 2, .dff = 6, .dropout_rate = 0.5, .seed = 3});
    const Tensor x = uniform({2, 3, d}, -1, 1, {.seed = 10});
    const auto eval_out = block(x, {.training = false}).to_vector();
    CHECK(block(x).to_vector() != eval_out);  // a new module trains
    block.eval();
    CHECK(block(x).to_vector() == eval_out);
    CHECK(block(x, {.training = true}).to_vector() != eval_out);
}

TEST_CASE("Transformer blocks: bad arguments and shapes name the block") {
    check_throws_with<ValueError>(
        [] { TransformerEncoderBlock(d, {.dff = 6}); },
        {"TransformerEncoderBlock", "num_heads must be positive (got 0)"});
    check_throws_with<ValueError>([] { TransformerDecoderBlock(d, {.num_heads = 2}); },
                                  {"TransformerDecoderBlock", "dff must be positive (got 0)"});
    TransformerEncoderBlock encoder(d, small);
    check_throws_with<ShapeError>(
        [&] {
            encoder(zeros({2, 3, 5}));
        },
        {"TransformerEncoderBlock: x [2,3,5]: expected [B,T,4] (got rank 3, width 5)"});
    TransformerDecoderBlock decoder(d, small);
    check_throws_with<ShapeError>(
        [&] {
            decoder(zeros({2, 3, d}), zeros({2, 7}));
        },
        {"TransformerDecoderBlock: context [2,7]: expected [B,T,4]"});
    check_throws_with<ShapeError>(
        [&] {
            decoder(zeros({2, 3, d}), zeros({3, 7, d}));
        },
        {"MultiHeadAttention 'cross_attention'", "[2,3,4]", "[3,7,4]"});
}
