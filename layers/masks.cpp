#include "layers/masks.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

namespace tapegrad {
namespace {

// Strides of `s` seen from a broadcast shape of rank `rank`: 0 on axes that are missing or 1.
std::array<std::int64_t, Shape::max_rank> broadcast_strides(const Shape& s, std::size_t rank) {
    std::array<std::int64_t, Shape::max_rank> out{};
    const auto own = s.strides();
    const std::size_t lead = rank - s.rank();
    for (std::size_t i = 0; i < s.rank(); ++i) out[lead + i] = s[i] == 1 ? 0 : own[i];
    return out;
}

void expect_b8(std::string_view layer, std::string_view name, const Tensor& mask) {
    if (mask.dtype() != b8)
        throw ValueError(fmt::format("{}: {} {} {}: masks must be b8 (1 = may attend)", layer, name,
                                     mask.shape(), dtype_name(mask.dtype())));
}

// The query rows of a b8 [Tq,Tv] mask that keep no key.
std::vector<std::int64_t> rows_without_keys(const Tensor& mask) {
    const Tensor keeps = rows_with_keys(mask, false, mask.dim(0), mask.dim(1));
    std::vector<std::int64_t> rows;
    for (std::int64_t i = 0; keeps.defined() && i < mask.dim(0); ++i)
        if (!keeps.data<std::uint8_t>()[i]) rows.push_back(i);
    return rows;
}

std::string queries(const std::vector<std::int64_t>& rows) {
    return fmt::format("quer{} {}", rows.size() == 1 ? "y" : "ies", fmt::join(rows, ", "));
}

}  // namespace

Tensor padding_mask(std::span<const std::int64_t> lengths, std::int64_t max_length) {
    std::vector<std::uint8_t> values(lengths.size() * static_cast<std::size_t>(max_length));
    for (std::size_t b = 0; b < lengths.size(); ++b) {
        if (lengths[b] < 0 || lengths[b] > max_length)
            throw ValueError(
                fmt::format("padding_mask: length {} of sequence {} is outside [0, {}]", lengths[b],
                            b, max_length));
        for (std::int64_t t = 0; t < lengths[b]; ++t) values[b * max_length + t] = 1;
    }
    return mask(values, {static_cast<std::int64_t>(lengths.size()), max_length});
}

Tensor causal_mask(std::int64_t tq, std::int64_t tv) {
    Tensor out = zeros({tq, tv}, {.dtype = b8});
    std::uint8_t* p = out.data<std::uint8_t>();
    for (std::int64_t i = 0; i < tq; ++i)
        for (std::int64_t j = 0; j <= i && j < tv; ++j) p[i * tv + j] = 1;
    return out;
}

// Walks the broadcast output row by row (last axis innermost), keeping one offset per operand.
Tensor mask_and(const Tensor& a, const Tensor& b) {
    if (!a.defined()) return b;
    if (!b.defined()) return a;
    expect_b8("mask_and", "a", a);
    expect_b8("mask_and", "b", b);
    const Shape out_shape = broadcast_shapes("mask_and", a.shape(), b.shape());
    Tensor out = Tensor::empty(out_shape, b8);
    const std::size_t rank = out_shape.rank();
    if (rank == 0 || out_shape.numel() == 0) {
        if (rank == 0)
            out.data<std::uint8_t>()[0] = a.data<std::uint8_t>()[0] & b.data<std::uint8_t>()[0];
        return out;
    }
    const auto sa = broadcast_strides(a.shape(), rank), sb = broadcast_strides(b.shape(), rank);
    const std::uint8_t* pa = a.data<std::uint8_t>();
    const std::uint8_t* pb = b.data<std::uint8_t>();
    std::uint8_t* po = out.data<std::uint8_t>();
    const std::int64_t inner = out_shape[rank - 1], rows = out_shape.numel() / inner;
    std::array<std::int64_t, Shape::max_rank> index{};
    for (std::int64_t r = 0; r < rows; ++r) {
        std::int64_t oa = 0, ob = 0;
        for (std::size_t d = 0; d + 1 < rank; ++d) oa += index[d] * sa[d], ob += index[d] * sb[d];
        for (std::int64_t j = 0; j < inner; ++j)
            po[r * inner + j] = pa[oa + j * sa[rank - 1]] & pb[ob + j * sb[rank - 1]];
        for (std::size_t d = rank - 1; d-- > 0;) {  // odometer over the leading axes
            if (++index[d] < out_shape[d]) break;
            index[d] = 0;
        }
    }
    return out;
}

Tensor invert_mask(const Tensor& mask) {
    expect_b8("invert_mask", "mask", mask);
    Tensor out = Tensor::empty(mask.shape(), b8);
    const std::uint8_t* in = mask.data<std::uint8_t>();
    std::uint8_t* o = out.data<std::uint8_t>();
    for (std::int64_t i = 0; i < mask.numel(); ++i) o[i] = in[i] ? 0 : 1;
    return out;
}

// A broadcast axis (size 1) is read at index 0 for every query row / key. Under the causal rule
// row i sees keys j <= min(i, Tv − 1).
Tensor rows_with_keys(const Tensor& mask, bool causal, std::int64_t tq, std::int64_t tv) {
    expect_b8("rows_with_keys", "mask", mask);
    const Shape& s = mask.shape();
    if (s.rank() < 2)
        throw_shape_error("rows_with_keys", fmt::format("mask {}", s), "expected rank >= 2");
    const std::int64_t rows = s[s.rank() - 2], cols = s.back(),
                       lead = s.numel() / std::max<std::int64_t>(rows * cols, 1);
    Shape out_shape = batch_axes(s);
    out_shape.push_back(tq);
    out_shape.push_back(1);
    Tensor out = Tensor::empty(out_shape, b8);
    const std::uint8_t* m = mask.data<std::uint8_t>();
    std::uint8_t* o = out.data<std::uint8_t>();
    bool any_empty = false;
    for (std::int64_t l = 0; l < lead; ++l) {
        for (std::int64_t i = 0; i < tq; ++i) {
            const std::uint8_t* row = m + (l * rows + (rows == 1 ? 0 : i)) * cols;
            const std::int64_t last = cols == 1 ? 0 : causal ? std::min(i, tv - 1) : cols - 1;
            std::uint8_t keeps = 0;
            for (std::int64_t j = 0; j <= last; ++j) keeps |= row[j];
            o[l * tq + i] = keeps;
            any_empty = any_empty || !keeps;
        }
    }
    return any_empty ? out : Tensor();
}

Tensor mask_as(const Tensor& mask, DType dtype) {
    expect_b8("mask_as", "mask", mask);
    return mask.to(dtype);
}

void expect_mask(std::string_view layer, std::string_view name, const Tensor& mask,
                 std::string_view pattern, const Shape& expected) {
    expect_b8(layer, name, mask);
    if (!(mask.shape() == expected))
        throw_shape_error(
            layer, fmt::format("{} {}", name, mask.shape()),
            fmt::format("shape differs from {} ({} vs {})", pattern, mask.shape(), expected));
}

void expect_mask_broadcasts(std::string_view layer, std::string_view name, const Tensor& mask,
                            std::string_view pattern, const Shape& target) {
    expect_b8(layer, name, mask);
    if (!broadcasts_to(mask.shape(), target))
        throw_shape_error(
            layer, fmt::format("{} {}", name, mask.shape()),
            fmt::format("does not broadcast to {} ({} vs {})", pattern, mask.shape(), target));
}

Tensor combine_masks(const MaskParts& p, bool with_query_mask) {
    if (p.tq < 1 || p.tv < 1)
        throw ValueError(
            fmt::format("combine_masks: lengths must be positive (Tq {}, Tv {})", p.tq, p.tv));
    if (p.query_mask.defined())
        expect_mask("combine_masks", "query_mask", p.query_mask, "[Tq]", {p.tq});
    if (p.value_mask.defined())
        expect_mask("combine_masks", "value_mask", p.value_mask, "[Tv]", {p.tv});
    if (p.attention_mask.defined())
        expect_mask("combine_masks", "attention_mask", p.attention_mask, "[Tq,Tv]", {p.tq, p.tv});
    Tensor m = p.causal ? causal_mask(p.tq, p.tv) : ones({p.tq, p.tv}, {.dtype = b8});
    if (p.value_mask.defined()) m = mask_and(m, p.value_mask.view_as_shape({1, p.tv}));
    if (p.attention_mask.defined()) m = mask_and(m, p.attention_mask);
    if (with_query_mask && p.query_mask.defined())
        m = mask_and(m, p.query_mask.view_as_shape({p.tq, 1}));
    return m;
}

// Each layer's rule is in layers/attention_core.cpp; tests/test_cli_viz.cpp checks the sentences
// against the layers.
std::string explain_mask(const MaskParts& p) {
    const std::vector<std::int64_t> mha_rows = rows_without_keys(combine_masks(p, true));
    const std::vector<std::int64_t> keras_rows = rows_without_keys(combine_masks(p, false));
    std::vector<std::string> parts;
    if (p.query_mask.defined()) parts.push_back("query padding");
    if (p.value_mask.defined()) parts.push_back("key padding");
    if (p.causal) parts.push_back("causal");
    if (p.attention_mask.defined()) parts.push_back("custom");
    std::string out =
        "■ = 1 = true: may attend; · = 0 = false: masked (Keras' polarity, also PyTorch's\n"
        "F.scaled_dot_product_attention). PyTorch's nn.MultiheadAttention attn_mask and\n"
        "key_padding_mask are the opposite, true = blocked: invert them (invert_mask).\n";
    out += fmt::format("rows: queries 0..{}, columns: keys 0..{}; shown: {}\n", p.tq - 1, p.tv - 1,
                       parts.empty() ? "no mask" : fmt::format("{}", fmt::join(parts, " ∧ ")));
    out += "query rows whose keys are all masked, per layer:\n";
    out += "  MultiHeadAttention, transformer blocks: ";
    out += mha_rows.empty()
               ? "none\n"
               : queries(mha_rows) + "\n    -> weights 0, output = attention_output.bias\n";
    out += "  Attention, AdditiveAttention (their softmax leaves the query mask out): ";
    if (keras_rows.empty())
        out += "none\n";
    else
        out += fmt::format(
            "{}\n    -> uniform weights 1/{} over all keys, masked ones included; "
            "output = the mean of the values\n",
            queries(keras_rows), p.tv);
    std::vector<std::int64_t> padding;
    for (std::int64_t i = 0; p.query_mask.defined() && i < p.tq; ++i)
        if (!p.query_mask.data<std::uint8_t>()[i]) padding.push_back(i);
    if (!padding.empty()) out += fmt::format("    -> padding {}: output 0\n", queries(padding));
    out += "  Gpt (causal mask only): never, query 0 always sees key 0\n";
    return out;
}

}  // namespace tapegrad
