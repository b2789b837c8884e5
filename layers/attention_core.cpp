#include "layers/attention_core.hpp"

#include <fmt/format.h>

#include <cassert>

#include "autograd/ops/binary.hpp"
#include "autograd/ops/causal_matmul.hpp"
#include "autograd/ops/dropout.hpp"
#include "autograd/ops/matmul.hpp"
#include "autograd/ops/softmax.hpp"
#include "layers/masks.hpp"

namespace tapegrad {
namespace {

// A [B,n] mask seen as rank `rank` with n on axis `axis`, B on axis 0 and 1 elsewhere.
Tensor spread_mask(const Tensor& m, std::size_t rank, std::size_t axis) {
    Shape s;
    for (std::size_t i = 0; i < rank; ++i)
        s.push_back(i == 0 ? m.dim(0) : i == axis ? m.dim(1) : 1);
    return m.view_as_shape(s);
}

// Everything that restricts the softmax, as one b8 tensor broadcastable to the scores (undefined
// when nothing does; the causal part stays a flag of the fused softmax).
Tensor softmax_mask(const Tensor& scores, const AttentionMasks& m, bool query_mask_joins) {
    const std::size_t rank = scores.rank();
    Tensor mask = m.attention_mask;
    if (m.value_mask.defined()) mask = mask_and(mask, spread_mask(m.value_mask, rank, rank - 1));
    if (query_mask_joins && m.query_mask.defined())
        mask = mask_and(mask, spread_mask(m.query_mask, rank, rank - 2));
    return mask;
}

}  // namespace

void expect_sizes_match(std::string_view layer, std::string_view a_name, const Shape& a,
                        std::string_view b_name, const Shape& b, std::int64_t size_a,
                        std::int64_t size_b, std::string_view what) {
    if (size_a != size_b)
        throw_shape_error(layer, fmt::format("{} {}, {} {}", a_name, a, b_name, b),
                          fmt::format("{} differ ({} vs {})", what, size_a, size_b));
}

void expect_attention_inputs(std::string_view layer, const Tensor& query, const Tensor& value,
                             const Tensor& key) {
    expect_rank(layer, "query", query.shape(), 3);
    expect_rank(layer, "value", value.shape(), 3);
    expect_rank(layer, "key", key.shape(), 3);
    if (!is_floating(query.dtype()) || value.dtype() != query.dtype() ||
        key.dtype() != query.dtype())
        throw ValueError(fmt::format(
            "{}: query {} {}, value {} {}, key {} {}: dtypes differ or are not floating", layer,
            query.shape(), dtype_name(query.dtype()), value.shape(), dtype_name(value.dtype()),
            key.shape(), dtype_name(key.dtype())));
    expect_sizes_match(layer, "query", query.shape(), "value", value.shape(), query.dim(0),
                       value.dim(0), "batch sizes");
    expect_sizes_match(layer, "value", value.shape(), "key", key.shape(), value.dim(0), key.dim(0),
                       "batch sizes");
    expect_sizes_match(layer, "value", value.shape(), "key", key.shape(), value.dim(1), key.dim(1),
                       "lengths");
}

void expect_attention_masks(std::string_view layer, const AttentionMasks& m, const Shape& scores) {
    const std::int64_t batch = scores[0], tq = scores[scores.rank() - 2], tv = scores.back();
    if (m.query_mask.defined())
        expect_mask(layer, "query_mask", m.query_mask, "[B,Tq]", {batch, tq});
    if (m.value_mask.defined())
        expect_mask(layer, "value_mask", m.value_mask, "[B,Tv]", {batch, tv});
    if (m.attention_mask.defined())
        expect_mask_broadcasts(layer, "attention_mask", m.attention_mask,
                               scores.rank() == 4 ? "[B,H,Tq,Tv]" : "[B,Tq,Tv]", scores);
}

void expect_dropout_rate(std::string_view layer, double rate) {
    if (!(rate >= 0.0 && rate < 1.0))
        throw ValueError(fmt::format("{}: dropout {} is outside [0, 1)", layer, rate));
}

// weights = softmax over Tv of z, z = scale·scores where kept and −1e9 where masked
//           (multi_head: fully masked rows then become 0, as Keras multiplies by the mask)
// output  = dropout(weights) @ value  (attention: then × query_mask, zeroing padded queries)
// In a row that keeps a key the softmax already gives masked keys exactly 0, so Keras' product
// with the mask only changes fully masked rows; zeroing those rows of the output [.., Tq, Dv]
// (and of the weights, if returned) is the same and skips a pass over [B,H,Tq,Tv].
// Gradients come from the ops used: the fused masked_softmax, dropout, matmul (or causal_mix) and
// mul.
AttentionCoreResult attention_core(const Tensor& scores, const Tensor& value,
                                   const AttentionMasks& masks,
                                   const AttentionCoreOptions& options) {
    const bool multi_head = options.convention == AttentionConvention::multi_head;
    const std::size_t rank = scores.rank();
    assert((rank == 3 || rank == 4) && value.rank() == rank && value.dim(-2) == scores.dim(-1));
    const Tensor mask = softmax_mask(scores, masks, multi_head);
    const Tensor weights = masked_softmax(scores, mask, options.scale, masks.causal);
    Tensor used = weights;
    if (options.training && options.dropout > 0.0) {
        assert(options.generator != nullptr);
        used = dropout(weights, options.dropout, *options.generator);
    }
    // Causal multi-head weights are 0 above the diagonal, except in rows without keys, which are
    // zeroed below: the product can skip that half.
    assert(!options.causal_blocks || (multi_head && masks.causal));
    Tensor output = options.causal_blocks ? causal_mix(used, value) : matmul(used, value);
    Tensor live;  // multi_head: 1 on query rows that keep a key, undefined if all do
    if (multi_head && mask.defined())
        live = rows_with_keys(mask, masks.causal, scores.dim(-2), scores.dim(-1));
    if (live.defined()) output = output * mask_as(live, output.dtype());
    if (!multi_head && masks.query_mask.defined())
        output = output * mask_as(spread_mask(masks.query_mask, rank, rank - 2), output.dtype());
    AttentionCoreResult result{output, {}};
    if (options.return_weights) {
        result.weights = multi_head ? weights : used;
        if (live.defined()) result.weights = weights * mask_as(live, weights.dtype());
    }
    return result;
}

AttentionCoreResult dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                          const AttentionMasks& masks,
                                          AttentionCoreOptions options) {
    assert(options.convention == AttentionConvention::multi_head);
    options.causal_blocks = masks.causal && causal_products_pay_off(q.dim(-2));
    const Tensor scores = options.causal_blocks ? causal_scores(q, k)  // only keys j <= i
                                                : matmul(q, k, false, true);
    return attention_core(scores, v, masks, options);
}

}  // namespace tapegrad
