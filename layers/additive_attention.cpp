#include "layers/additive_attention.hpp"

#include <fmt/format.h>

#include "layers/init.hpp"

namespace tapegrad {

AdditiveAttention::AdditiveAttention(std::int64_t dim, AdditiveAttentionOptions options)
    : AttentionBase("AdditiveAttention", options.dropout, options.seed), dim_(dim), opt_(options) {
    if (dim_ <= 0)
        throw ValueError(fmt::format("{}: dim must be positive (got {})", describe(), dim_));
    if (opt_.use_scale)
        scale_ = register_parameter("scale", init::glorot_uniform({dim_}, f32, generator()));
}

// Σ_d scale_d·tanh(q_id + k_jd); query and key already agree on D, so check it against ours.
Tensor AdditiveAttention::scores(const Tensor& query, const Tensor& key) {
    expect_sizes_match(describe(), "query", query.shape(), "dim", Shape{dim_}, query.dim(2), dim_,
                       "feature sizes");
    return additive_scores(query, key, scale_);
}

}  // namespace tapegrad
