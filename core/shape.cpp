#include "core/shape.hpp"

#include <fmt/ranges.h>

#include "core/error.hpp"

namespace tapegrad {
namespace {

// numel() and strides() multiply the dimensions: refuse shapes whose product (of the nonzero
// ones) would overflow instead of letting it wrap into a small, wrong size.
void expect_countable(std::span<const std::int64_t> dims) {
    std::int64_t product = 1;
    for (std::int64_t d : dims)
        if (d > 0 && __builtin_mul_overflow(product, d, &product))
            throw ShapeError(fmt::format("shape: [{}]: more than 2^63 - 1 elements",
                                         fmt::join(dims, ",")));
}

}  // namespace

Shape::Shape(std::initializer_list<std::int64_t> dims) : Shape(std::span(dims.begin(), dims.size())) {}

Shape::Shape(std::span<const std::int64_t> dims) {
    if (dims.size() > max_rank)
        throw ShapeError(fmt::format("shape: rank {} exceeds the maximum of {}", dims.size(), max_rank));
    for (std::int64_t d : dims) {
        if (d < 0) throw ShapeError(fmt::format("shape: [{}]: negative dimension ({})", fmt::join(dims, ","), d));
        dims_[rank_++] = d;
    }
    expect_countable(dims);
}

std::int64_t Shape::numel() const {
    std::int64_t n = 1;
    for (std::size_t i = 0; i < rank_; ++i) n *= dims_[i];
    return n;
}

std::int64_t Shape::dim(std::int64_t axis) const { return dims_[normalize_axis("dim", axis, rank_)]; }

void Shape::push_back(std::int64_t d) {
    if (rank_ == max_rank) throw ShapeError(fmt::format("shape: rank exceeds the maximum of {}", max_rank));
    dims_[rank_] = d;
    expect_countable({dims_.data(), rank_ + 1});
    ++rank_;
}

std::array<std::int64_t, Shape::max_rank> Shape::strides() const {
    std::array<std::int64_t, max_rank> s{};
    std::int64_t acc = 1;
    for (std::size_t i = rank_; i-- > 0;) {
        s[i] = acc;
        acc *= dims_[i];
    }
    return s;
}

bool Shape::operator==(const Shape& other) const {
    if (rank_ != other.rank_) return false;
    for (std::size_t i = 0; i < rank_; ++i)
        if (dims_[i] != other.dims_[i]) return false;
    return true;
}

std::size_t normalize_axis(std::string_view op, std::int64_t axis, std::size_t rank) {
    const auto r = static_cast<std::int64_t>(rank);
    if (axis < -r || axis >= r)
        throw ShapeError(fmt::format("{}: axis {} is out of range for rank {}", op, axis, rank));
    return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

Shape batch_axes(const Shape& s) { return Shape(s.dims().first(s.rank() - 2)); }

bool broadcasts_to(const Shape& from, const Shape& to) {
    if (from.rank() > to.rank()) return false;
    const std::size_t shift = to.rank() - from.rank();
    for (std::size_t i = 0; i < from.rank(); ++i)
        if (from[i] != 1 && from[i] != to[i + shift]) return false;
    return true;
}

Shape broadcast_shapes(std::string_view op, const Shape& a, const Shape& b) {
    const std::size_t rank = std::max(a.rank(), b.rank());
    Shape out;
    for (std::size_t i = 0; i < rank; ++i) {
        // Align from the right; a missing dimension counts as 1.
        const std::size_t ia = i + a.rank() - rank, ib = i + b.rank() - rank;
        const std::int64_t da = i + a.rank() >= rank ? a[ia] : 1;
        const std::int64_t db = i + b.rank() >= rank ? b[ib] : 1;
        if (da != db && da != 1 && db != 1)
            throw ShapeError(fmt::format("{}: {} and {}: shapes do not broadcast (axis {}: {} vs {})",
                                         op, a, b, i, da, db));
        out.push_back(da == 1 ? db : da);
    }
    return out;
}

void throw_shape_error(std::string_view op, std::string_view operands, std::string_view what) {
    throw ShapeError(fmt::format("{}: {}: {}", op, operands, what));
}

void expect_rank(std::string_view op, std::string_view name, const Shape& s, std::size_t rank) {
    if (s.rank() != rank)
        throw_shape_error(op, fmt::format("{} {}", name, s),
                          fmt::format("expected rank {} (got {})", rank, s.rank()));
}

void expect_same_shape(std::string_view op, const Shape& a, const Shape& b) {
    if (!(a == b)) throw_shape_error(op, fmt::format("{} and {}", a, b), "shapes differ");
}

void expect_matmul(std::string_view op, const Shape& a, const Shape& b) {
    if (a.rank() < 2 || b.rank() < 2)
        throw_shape_error(op, fmt::format("{} @ {}", a, b), "both operands need rank >= 2");
    const auto k_a = a.back(), k_b = b[b.rank() - 2];
    if (k_a != k_b)
        throw_shape_error(op, fmt::format("{} @ {}", a, b),
                          fmt::format("inner dimensions differ ({} vs {})", k_a, k_b));
}

}  // namespace tapegrad
