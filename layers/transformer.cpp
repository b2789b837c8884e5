#include "layers/transformer.hpp"

#include <fmt/format.h>

#include "autograd/ops/binary.hpp"

namespace tapegrad {
namespace {

TransformerBlockOptions resolve(std::int64_t d_model, TransformerBlockOptions o, const char* who) {
    const auto expect = [&](bool ok, const char* what, auto got) {
        if (!ok) throw ValueError(fmt::format("{}: {} (got {})", who, what, got));
    };
    expect(d_model > 0, "d_model must be positive", d_model);
    expect(o.num_heads > 0, "num_heads must be positive", o.num_heads);
    expect(o.dff > 0, "dff must be positive", o.dff);
    expect(o.key_dim >= 0, "key_dim must be positive, or 0 for d_model", o.key_dim);
    expect(o.context_dim >= 0, "context_dim must be positive, or 0 for d_model", o.context_dim);
    expect(o.dropout_rate >= 0 && o.dropout_rate < 1, "dropout_rate must be in [0, 1)",
           o.dropout_rate);
    if (o.key_dim == 0) o.key_dim = d_model;
    if (o.context_dim == 0) o.context_dim = d_model;
    return o;
}

// Attention over inputs of width value_dim, returning d_model features.
MultiHeadAttentionOptions attention_options(const TransformerBlockOptions& o,
                                            std::int64_t value_dim, Generator& gen) {
    return {.num_heads = o.num_heads,
            .key_dim = o.key_dim,
            .dropout = o.dropout_rate,
            .value_input_dim = value_dim,
            .seed = gen.next_u64()};
}

// One residual sublayer: post-LN norm(x + f(x)), or pre-LN x + f(norm(x)).
template <class Sublayer>
Tensor residual(const Tensor& x, LayerNorm& norm, bool norm_first, Sublayer&& sublayer) {
    return norm_first ? x + sublayer(norm(x)) : norm(x + sublayer(x));
}

}  // namespace

FeedForward::FeedForward(std::int64_t d_model, const TransformerBlockOptions& o, Generator& gen)
    : Layer("FeedForward"),
      dense_(d_model, {.units = o.dff, .activation = o.activation, .seed = gen.next_u64()}),
      dense_1_(o.dff, {.units = d_model, .seed = gen.next_u64()}),
      dropout_({.rate = o.dropout_rate, .seed = gen.next_u64()}) {
    register_module("dense", dense_);
    register_module("dense_1", dense_1_);
    register_module("dropout", dropout_);
}

Tensor FeedForward::operator()(const Tensor& x, std::optional<bool> training) {
    return remember_output(dropout_(dense_1_(dense_(x)), training));
}

TransformerBlockBase::TransformerBlockBase(std::string type_name, std::int64_t d_model,
                                           TransformerBlockOptions options)
    : Module(type_name),
      opt_(resolve(d_model, options, type_name.c_str())),
      d_model_(d_model),
      gen_(layer_generator(opt_.seed)),
      self_attention_(d_model, attention_options(opt_, d_model, gen_)),
      self_attention_norm_(d_model, {.epsilon = opt_.layer_norm_epsilon}),
      ffn_(d_model, opt_, gen_),
      ffn_norm_(d_model, {.epsilon = opt_.layer_norm_epsilon}) {}

void TransformerBlockBase::register_children(MultiHeadAttention* cross_attention,
                                             LayerNorm* cross_attention_norm) {
    register_module("self_attention", self_attention_);
    register_module("self_attention_norm", self_attention_norm_);
    if (cross_attention) register_module("cross_attention", *cross_attention);
    if (cross_attention_norm) register_module("cross_attention_norm", *cross_attention_norm);
    register_module("ffn", ffn_);
    register_module("ffn_norm", ffn_norm_);
}

Tensor TransformerBlockBase::self_attention_sublayer(const Tensor& x, const TransformerCall& call,
                                                     bool causal) {
    const AttentionCall self_call{.query_mask = call.mask,
                                  .value_mask = call.mask,
                                  .use_causal_mask = causal,
                                  .training = call.training};
    return residual(x, self_attention_norm_, opt_.norm_first,
                    [&](const Tensor& h) -> Tensor { return self_attention_(h, h, h, self_call); });
}

Tensor TransformerBlockBase::cross_attention_sublayer(MultiHeadAttention& attention,
                                                      LayerNorm& norm, const Tensor& x,
                                                      const Tensor& context,
                                                      const TransformerCall& call) {
    const AttentionCall cross_call{
        .query_mask = call.mask, .value_mask = call.context_mask, .training = call.training};
    return residual(x, norm, opt_.norm_first, [&](const Tensor& h) -> Tensor {
        return attention(h, context, context, cross_call);
    });
}

Tensor TransformerBlockBase::ffn_sublayer(const Tensor& x, const TransformerCall& call) {
    return residual(x, ffn_norm_, opt_.norm_first,
                    [&](const Tensor& h) { return ffn_(h, call.training); });
}

void TransformerBlockBase::expect_sequence(const char* name, const Tensor& x,
                                           std::int64_t width) const {
    if (!x.defined())
        throw ValueError(fmt::format("{}: {} is an undefined tensor", describe(), name));
    if (x.rank() != 3 || x.shape().back() != width)
        throw_shape_error(describe(), fmt::format("{} {}", name, x.shape()),
                          fmt::format("expected [B,T,{}] (got rank {}, width {})", width, x.rank(),
                                      x.rank() ? x.shape().back() : 0));
}

TransformerEncoderBlock::TransformerEncoderBlock(std::int64_t d_model,
                                                 TransformerBlockOptions options)
    : TransformerBlockBase("TransformerEncoderBlock", d_model, options) {
    register_children(nullptr, nullptr);
}

Tensor TransformerEncoderBlock::operator()(const Tensor& x, const TransformerCall& call) {
    expect_sequence("x", x, d_model_);
    return remember_output(ffn_sublayer(self_attention_sublayer(x, call, /*causal=*/false), call));
}

TransformerDecoderBlock::TransformerDecoderBlock(std::int64_t d_model,
                                                 TransformerBlockOptions options)
    : TransformerBlockBase("TransformerDecoderBlock", d_model, options),
      cross_attention_(d_model, attention_options(opt_, opt_.context_dim, gen_)),
      cross_attention_norm_(d_model, {.epsilon = opt_.layer_norm_epsilon}) {
    register_children(&cross_attention_, &cross_attention_norm_);
}

Tensor TransformerDecoderBlock::operator()(const Tensor& x, const Tensor& context,
                                           const TransformerCall& call) {
    expect_sequence("x", x, d_model_);
    expect_sequence("context", context, opt_.context_dim);
    const Tensor h = self_attention_sublayer(x, call, /*causal=*/true);
    return remember_output(ffn_sublayer(
        cross_attention_sublayer(cross_attention_, cross_attention_norm_, h, context, call), call));
}

}  // namespace tapegrad
