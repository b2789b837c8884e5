#include "layers/attention.hpp"

#include "autograd/ops/binary.hpp"
#include "autograd/ops/matmul.hpp"
#include "autograd/ops/reduce.hpp"
#include "autograd/ops/shape.hpp"
#include "autograd/ops/unary.hpp"
#include "layers/init.hpp"
#include "layers/layer.hpp"

namespace tapegrad {

AttentionBase::AttentionBase(std::string type_name, double dropout,
                             std::optional<std::uint64_t> seed)
    : Module(std::move(type_name)), dropout_(dropout), generator_(layer_generator(seed)) {
    expect_dropout_rate(describe(), dropout_);
    register_generator("generator", generator_);
}

AttentionResult AttentionBase::operator()(const Tensor& query, const Tensor& value,
                                          const Tensor& key, const AttentionCall& call) {
    const std::string layer = describe();
    const Tensor& k = key.defined() ? key : value;
    expect_attention_inputs(layer, query, value, k);
    expect_sizes_match(layer, "query", query.shape(), "key", k.shape(), query.dim(2), k.dim(2),
                       "feature sizes");
    const AttentionMasks masks{call.query_mask, call.value_mask, call.attention_mask,
                               call.use_causal_mask};
    expect_attention_masks(layer, masks, {query.dim(0), query.dim(1), k.dim(1)});
    const AttentionCoreOptions options{.convention = AttentionConvention::attention,
                                       .dropout = dropout_,
                                       .training = call.training.value_or(is_training()),
                                       .generator = &generator_,
                                       .return_weights = call.return_attention_scores};
    AttentionCoreResult r = attention_core(scores(query, k), value, masks, options);
    return {remember_output(r.output), r.weights};
}

Attention::Attention(AttentionOptions options)
    : AttentionBase("Attention", options.dropout, options.seed), opt_(options) {
    if (opt_.use_scale) scale_ = register_parameter("scale", init::ones({}));
    if (opt_.score_mode == ScoreMode::concat)
        concat_score_weight_ = register_parameter("concat_score_weight", init::ones({}));
}

// dot: scale·Q·Kᵀ.  concat: w·Σ_d tanh(scale·q_id + scale·k_jd): scaling q and k before the
// broadcast add costs [B,T,D] instead of [B,Tq,Tv,D] work and is Keras' scale·(q + k).
Tensor Attention::scores(const Tensor& query, const Tensor& key) {
    if (opt_.score_mode == ScoreMode::dot) {
        Tensor s = matmul(query, key, false, true);  // [B,Tq,Tv]
        return scale_.defined() ? s * scale_ : s;
    }
    const Tensor q = scale_.defined() ? query * scale_ : query;
    const Tensor k = scale_.defined() ? key * scale_ : key;
    return additive_scores(q, k, Tensor()) * concat_score_weight_;
}

// t = tanh(q [B,Tq,1,D] + k [B,1,Tv,D]) [B,Tq,Tv,D];  scores = t·weight (one gemm) or Σ_d t
Tensor additive_scores(const Tensor& query, const Tensor& key, const Tensor& weight) {
    const std::int64_t batch = query.dim(0), tq = query.dim(1), tv = key.dim(1), d = query.dim(2);
    const Tensor t = tanh(reshape(query, {batch, tq, 1, d}) + reshape(key, {batch, 1, tv, d}));
    if (!weight.defined()) return sum(t, {-1});
    return reshape(linear(t, reshape(weight, {d, 1})), {batch, tq, tv});
}

}  // namespace tapegrad
