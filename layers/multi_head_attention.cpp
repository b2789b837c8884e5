#include "layers/multi_head_attention.hpp"

#include <fmt/format.h>

#include <cmath>

#include "autograd/ops/matmul.hpp"
#include "autograd/ops/packed_attention.hpp"
#include "autograd/ops/shape.hpp"
#include "layers/init.hpp"
#include "layers/layer.hpp"

namespace tapegrad {
namespace {

// The options with 0 defaults replaced by their sizes, after checking every size is valid.
MultiHeadAttentionOptions resolve(std::int64_t query_dim, MultiHeadAttentionOptions o) {
    const auto expect = [](bool ok, const char* what, std::int64_t got) {
        if (!ok) throw ValueError(fmt::format("MultiHeadAttention: {} (got {})", what, got));
    };
    expect(o.num_heads > 0, "num_heads must be positive", o.num_heads);
    expect(o.key_dim > 0, "key_dim must be positive", o.key_dim);
    expect(query_dim > 0, "query_dim must be positive", query_dim);
    expect(o.value_dim >= 0, "value_dim must be positive, or 0 for key_dim", o.value_dim);
    expect(o.output_shape >= 0, "output_shape must be positive, or 0 for query_dim",
           o.output_shape);
    expect(o.value_input_dim >= 0, "value_input_dim must be positive, or 0 for query_dim",
           o.value_input_dim);
    expect(o.key_input_dim >= 0, "key_input_dim must be positive, or 0 for value_input_dim",
           o.key_input_dim);
    expect_dropout_rate("MultiHeadAttention", o.dropout);
    if (o.value_dim == 0) o.value_dim = o.key_dim;
    if (o.output_shape == 0) o.output_shape = query_dim;
    if (o.value_input_dim == 0) o.value_input_dim = query_dim;
    if (o.key_input_dim == 0) o.key_input_dim = o.value_input_dim;
    return o;
}

// x [B,T,E] -> [B,H,T,size]: one gemm with the kernel [E,H,size] viewed as [E,H·size].
Tensor project_heads(const Tensor& x, const Tensor& kernel, const Tensor& bias) {
    const std::int64_t e = kernel.dim(0), heads = kernel.dim(1), size = kernel.dim(2);
    const Tensor b = bias.defined() ? reshape(bias, {heads * size}) : Tensor();
    const Tensor y = linear(x, reshape(kernel, {e, heads * size}), b);  // [B,T,H·size]
    return split_heads(y, heads);
}

// context [B,H,Tq,v] -> [B,Tq,H·v] -> one gemm with the kernel [H,v,E_out] viewed as [H·v,E_out].
Tensor project_output(const Tensor& context, const Tensor& kernel, const Tensor& bias) {
    const std::int64_t heads = kernel.dim(0), size = kernel.dim(1), out = kernel.dim(2);
    return linear(merge_heads(context), reshape(kernel, {heads * size, out}), bias);
}

// A mask of rank <= 3 viewed as rank 4 with a head axis of 1: [B,Tq,Tv] -> [B,1,Tq,Tv], as Keras'
// expand_dims at axis -3; lower ranks have no batch axis and are right-aligned ([Tq,Tv] ->
// [1,1,Tq,Tv]).
Tensor add_head_axis(const Tensor& mask) {
    const Shape& s = mask.shape();
    if (s.rank() == 4) return mask;
    if (s.rank() == 3) return mask.view_as_shape({s[0], 1, s[1], s[2]});
    Shape out{1, 1, 1, 1};
    for (std::size_t i = 0; i < s.rank(); ++i) out[4 - s.rank() + i] = s[i];
    return mask.view_as_shape(out);
}

}  // namespace

MultiHeadAttention::MultiHeadAttention(std::int64_t query_dim, MultiHeadAttentionOptions options)
    : Module("MultiHeadAttention"),
      query_dim_(query_dim),
      opt_(resolve(query_dim, options)),
      generator_(layer_generator(opt_.seed)) {
    register_generator("generator", generator_);
    const std::int64_t heads = opt_.num_heads, k = opt_.key_dim, v = opt_.value_dim;
    add_projection("query", {query_dim_, heads, k}, {heads, k}, query_kernel_, query_bias_);
    add_projection("key", {opt_.key_input_dim, heads, k}, {heads, k}, key_kernel_, key_bias_);
    add_projection("value", {opt_.value_input_dim, heads, v}, {heads, v}, value_kernel_,
                   value_bias_);
    add_projection("attention_output", {heads, v, opt_.output_shape}, {opt_.output_shape},
                   output_kernel_, output_bias_);
}

void MultiHeadAttention::add_projection(const char* name, const Shape& kernel_shape,
                                        const Shape& bias_shape, Tensor& kernel, Tensor& bias) {
    kernel = register_parameter(fmt::format("{}.kernel", name),
                                init::glorot_uniform(kernel_shape, f32, generator_));
    if (opt_.use_bias)
        bias = register_parameter(fmt::format("{}.bias", name), init::zeros(bias_shape));
}

AttentionMasks MultiHeadAttention::check_call(const Tensor& query, const Tensor& value,
                                              const Tensor& key, const AttentionCall& call) const {
    const std::string layer = describe();
    expect_attention_inputs(layer, query, value, key);
    expect_sizes_match(layer, "query", query.shape(), "query.kernel", query_kernel_.shape(),
                       query.dim(2), query_dim_, "feature sizes");
    expect_sizes_match(layer, "value", value.shape(), "value.kernel", value_kernel_.shape(),
                       value.dim(2), opt_.value_input_dim, "feature sizes");
    expect_sizes_match(layer, "key", key.shape(), "key.kernel", key_kernel_.shape(), key.dim(2),
                       opt_.key_input_dim, "feature sizes");
    AttentionMasks masks{call.query_mask, call.value_mask, call.attention_mask,
                         call.use_causal_mask};
    const std::int64_t batch = query.dim(0), tq = query.dim(1), tv = value.dim(1);
    const bool per_head = masks.attention_mask.defined() && masks.attention_mask.rank() == 4;
    expect_attention_masks(layer, masks,
                           per_head ? Shape{batch, opt_.num_heads, tq, tv} : Shape{batch, tq, tv});
    if (masks.attention_mask.defined()) masks.attention_mask = add_head_axis(masks.attention_mask);
    return masks;
}

// Keras scales Q by 1/√k before Q·Kᵀ; we fold the same factor into the fused masked softmax.
AttentionResult MultiHeadAttention::operator()(const Tensor& query, const Tensor& value,
                                               const Tensor& key, const AttentionCall& call) {
    const Tensor& k = key.defined() ? key : value;
    const AttentionMasks masks = check_call(query, value, k, call);
    const Tensor q_heads = project_heads(query, query_kernel_, query_bias_);  // [B,H,Tq,k]
    const Tensor k_heads = project_heads(k, key_kernel_, key_bias_);          // [B,H,Tv,k]
    const Tensor v_heads = project_heads(value, value_kernel_, value_bias_);  // [B,H,Tv,v]
    const AttentionCoreOptions options{.convention = AttentionConvention::multi_head,
                                       .scale = 1.0 / std::sqrt(static_cast<double>(opt_.key_dim)),
                                       .dropout = opt_.dropout,
                                       .training = call.training.value_or(is_training()),
                                       .generator = &generator_,
                                       .return_weights = call.return_attention_scores};
    AttentionCoreResult r = dot_product_attention(q_heads, k_heads, v_heads, masks, options);
    return {remember_output(project_output(r.output, output_kernel_, output_bias_)), r.weights};
}

}  // namespace tapegrad
