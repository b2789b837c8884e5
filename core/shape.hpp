// Shape: up to 16 dimensions kept inline (no heap), NumPy broadcasting, the error-message helpers.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace tapegrad {

class Shape {
public:
    static constexpr std::size_t max_rank = 16;

    Shape() = default;
    Shape(std::initializer_list<std::int64_t> dims);
    explicit Shape(std::span<const std::int64_t> dims);
    explicit Shape(const std::vector<std::int64_t>& dims) : Shape(std::span(dims)) {}

    std::size_t rank() const { return rank_; }
    std::int64_t numel() const;
    std::int64_t operator[](std::size_t i) const { return dims_[i]; }
    std::int64_t& operator[](std::size_t i) { return dims_[i]; }
    std::int64_t back() const { return dims_[rank_ - 1]; }
    // Dimension by axis, negative counting from the end; throws on a bad axis.
    std::int64_t dim(std::int64_t axis) const;
    const std::int64_t* begin() const { return dims_.data(); }
    const std::int64_t* end() const { return dims_.data() + rank_; }
    std::span<const std::int64_t> dims() const { return {dims_.data(), rank_}; }
    std::vector<std::int64_t> to_vector() const { return {begin(), end()}; }
    void push_back(std::int64_t d);
    // Row-major strides in elements.
    std::array<std::int64_t, max_rank> strides() const;
    bool operator==(const Shape& other) const;

private:
    std::array<std::int64_t, max_rank> dims_{};
    std::size_t rank_ = 0;
};

// Axis in [-rank, rank) to [0, rank); the op name goes into the error.
std::size_t normalize_axis(std::string_view op, std::int64_t axis, std::size_t rank);
// NumPy broadcasting of two shapes; throws ShapeError naming the op and both shapes.
Shape broadcast_shapes(std::string_view op, const Shape& a, const Shape& b);
// The axes before the last two: the batch axes of a stack of matrices [..., m, n] (rank >= 2).
Shape batch_axes(const Shape& s);
// Whether `from` repeats to `to` under NumPy rules without growing `to`.
bool broadcasts_to(const Shape& from, const Shape& to);
// Shape-error helpers with the one message format "<op>: <shapes>: <what differs> (<numbers>)".
[[noreturn]] void throw_shape_error(std::string_view op, std::string_view operands,
                                    std::string_view what);
void expect_rank(std::string_view op, std::string_view name, const Shape& s, std::size_t rank);
void expect_same_shape(std::string_view op, const Shape& a, const Shape& b);
void expect_matmul(std::string_view op, const Shape& a, const Shape& b);

}  // namespace tapegrad

template <>
struct fmt::formatter<tapegrad::Shape> : fmt::formatter<std::string_view> {
    auto format(const tapegrad::Shape& s, fmt::format_context& ctx) const
        -> decltype(ctx.out()) {
        return fmt::format_to(ctx.out(), "[{}]", fmt::join(s.begin(), s.end(), ","));
    }
};
