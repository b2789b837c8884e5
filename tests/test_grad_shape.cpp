// Shape ops: values, gradients by hand and errors. Their float64 gradchecks are
// check/gradcheck_suite's (test_gradcheck_suite.cpp).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "autograd/ops.hpp"
#include "autograd/tape.hpp"
#include "support.hpp"

using namespace tapegrad;
using test::check_close;
using test::iota;

namespace {

// The gradient reaching x when `y` is back-propagated with an upstream gradient of ones.
Tensor grad_of_ones(const Tensor& x, const Tensor& y) {
    x.zero_grad();
    y.backward(ones(y.shape(), {.dtype = y.dtype()}));
    return x.grad();
}

}  // namespace

TEST_CASE("reshape: infers one -1, shares storage and passes the gradient back unchanged") {
    Tensor x = from({1, 2, 3, 4, 5, 6}, {2, 3}, {.dtype = f64, .requires_grad = true});
    const Tensor y = reshape(x, {-1, 2});
    check_close(y, {1, 2, 3, 4, 5, 6}, {3, 2});
    CHECK(y.shares_storage(x));
    check_close(reshape(x, {3, 1, -1}), {1, 2, 3, 4, 5, 6}, {3, 1, 2});
    check_close(reshape(x, {6}), {1, 2, 3, 4, 5, 6}, {6});
    check_close(grad_of_ones(x, y * 2.0), {2, 2, 2, 2, 2, 2}, {2, 3});
    check_close(reshape(from({7}, {1, 1}), {}), {7}, {});
}

TEST_CASE("transpose and permute: values match hand-computed numbers, negative axes included") {
    const Tensor x = iota({2, 3});  // [[0,1,2],[3,4,5]]
    check_close(transpose(x, 0, 1), {0, 3, 1, 4, 2, 5}, {3, 2});
    check_close(transpose(x, -1, -2), {0, 3, 1, 4, 2, 5}, {3, 2});
    const Tensor z = iota({2, 3, 2});  // z[j,k,i] = 6j + 2k + i
    // y[i,j,k] = z[j,k,i]
    check_close(permute(z, {2, 0, 1}), {0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11}, {2, 2, 3});
    check_close(permute(z, {-1, 0, 1}), {0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11}, {2, 2, 3});
    // y[i,j,k] = z[k,j,i]
    check_close(transpose(z, 0, -1), {0, 6, 2, 8, 4, 10, 1, 7, 3, 9, 5, 11}, {2, 3, 2});
    check_close(permute(z, {0, 1, 2}), z);
    check_close(transpose(from({5}, {1}), 0, 0), {5}, {1});
}

TEST_CASE("transpose: a tensor above the parallel threshold keeps every element in place") {
    const Tensor x = iota({40, 33, 30}, f32);  // x[a,b,c] = 990a + 30b + c
    const Tensor y = transpose(x, 0, 2);       // y[c,b,a] = x[a,b,c]
    REQUIRE(y.shape() == Shape{30, 33, 40});
    const float* p = y.data<float>();
    std::int64_t wrong = 0;
    for (std::int64_t c = 0; c < 30; ++c)
        for (std::int64_t b = 0; b < 33; ++b)
            for (std::int64_t a = 0; a < 40; ++a)
                wrong += p[(c * 33 + b) * 40 + a] != 990 * a + 30 * b + c;
    CHECK(wrong == 0);
}

TEST_CASE("shape ops move i32 and b8 tensors too") {
    const std::int32_t id_values[] = {1, 2, 3, 4, 5, 6};
    const Tensor t = ids(id_values, {2, 3});
    check_close(transpose(t, 0, 1), {1, 4, 2, 5, 3, 6}, {3, 2});
    check_close(slice(t, 1, 1, 3), {2, 3, 5, 6}, {2, 2});
    const std::uint8_t bits[] = {1, 0, 0, 1};
    const Tensor m = mask(bits, {2, 2});
    check_close(concat({m, transpose(m, 0, 1)}, 1), {1, 0, 1, 0, 0, 1, 0, 1}, {2, 4});
    check_close(broadcast_to(mask(std::span(bits, 2), {2, 1}), {2, 3}), {1, 1, 1, 0, 0, 0}, {2, 3});
    CHECK(concat({t, t}, 0).dtype() == i32);
}

TEST_CASE("slice: bounds follow Python, negative and out-of-range ones included") {
    const Tensor x = iota({3, 4});  // [[0,1,2,3],[4,5,6,7],[8,9,10,11]]
    check_close(slice(x, 1, 1, 3), {1, 2, 5, 6, 9, 10}, {3, 2});
    check_close(slice(x, -1, -3, -1), {1, 2, 5, 6, 9, 10}, {3, 2});
    check_close(slice(x, 0, -10, 2), {0, 1, 2, 3, 4, 5, 6, 7}, {2, 4});
    check_close(slice(x, 0, 2, 100), {8, 9, 10, 11}, {1, 4});
    check_close(slice(x, 1, 3, 1), {}, {3, 0});
    check_close(slice(x, 0, 5, 7), {}, {0, 4});
    Tensor w = from({1, 2, 3, 4, 5, 6}, {2, 3}, {.dtype = f64, .requires_grad = true});
    check_close(grad_of_ones(w, slice(w, 1, -2, 3) * 3.0), {0, 3, 3, 0, 3, 3}, {2, 3});
}

TEST_CASE("concat and split: values match hand-computed numbers") {
    const Tensor a = from({1, 2, 3, 4}, {2, 2}, {.dtype = f64});
    const Tensor b = from({5, 6}, {2, 1}, {.dtype = f64});
    check_close(concat({a, b}, 1), {1, 2, 5, 3, 4, 6}, {2, 3});
    check_close(concat({a, b}, -1), {1, 2, 5, 3, 4, 6}, {2, 3});
    check_close(concat({a, from({7, 8}, {1, 2}, {.dtype = f64})}, 0), {1, 2, 3, 4, 7, 8}, {3, 2});
    check_close(concat({a}, 0), a);

    const Tensor x = iota({2, 5});  // [[0,1,2,3,4],[5,6,7,8,9]]
    const auto pieces = split(x, {2, 3}, -1);
    REQUIRE(pieces.size() == 2);
    check_close(pieces[0], {0, 1, 5, 6}, {2, 2});
    check_close(pieces[1], {2, 3, 4, 7, 8, 9}, {2, 3});
    const auto rows = split(x, {0, 2}, 0);
    check_close(rows[0], {}, {0, 5});
    check_close(rows[1], x);
    check_close(concat(split(x, {1, 3, 1}, 1), 1), x);
}

TEST_CASE("concat and split: gradients land in the right pieces") {
    Tensor a = from({1, 2, 3, 4}, {2, 2}, {.dtype = f64, .requires_grad = true});
    const Tensor b = from({5, 6}, {2, 1}, {.dtype = f64});  // no gradient wanted
    const Tensor weights = from({1, 2, 3, 4, 5, 6}, {2, 3}, {.dtype = f64});
    check_close(grad_of_ones(a, concat({a, b}, 1) * weights), {1, 2, 4, 5}, {2, 2});

    Tensor x = from({1, 2, 3, 4, 5, 6}, {2, 3}, {.dtype = f64, .requires_grad = true});
    const auto p = split(x, {1, 2}, 1);  // p[0] = [[1],[4]], p[1] = [[2,3],[5,6]]
    check_close(grad_of_ones(x, p[0] * 10.0 + p[1]), {20, 1, 1, 20, 1, 1}, {2, 3});
    check_close(grad_of_ones(x, split(x, {1, 2}, -1)[1] * 2.0), {0, 2, 2, 0, 2, 2}, {2, 3});
}

TEST_CASE("broadcast_to: repeats values and sums gradients back") {
    Tensor x = from({1, 2, 3}, {3}, {.dtype = f64, .requires_grad = true});
    const Tensor y = broadcast_to(x, {2, 3});
    check_close(y, {1, 2, 3, 1, 2, 3}, {2, 3});
    check_close(grad_of_ones(x, y), {2, 2, 2}, {3});
    Tensor c = from({1, 2}, {2, 1}, {.dtype = f64, .requires_grad = true});
    check_close(broadcast_to(c, {2, 3}), {1, 1, 1, 2, 2, 2}, {2, 3});
    check_close(grad_of_ones(c, broadcast_to(c, {4, 2, 3})), {12, 12}, {2, 1});
}

TEST_CASE("where and masked_fill: values and gradients by hand") {
    const std::uint8_t bits[] = {1, 0};
    const Tensor cond = mask(bits, {2, 1});
    Tensor a = from({1, 2, 3}, {3}, {.dtype = f64, .requires_grad = true});
    Tensor b = from({9}, {}, {.dtype = f64, .requires_grad = true});
    const Tensor y = where(cond, a, b);  // row 0 from a, row 1 from b
    check_close(y, {1, 2, 3, 9, 9, 9}, {2, 3});
    y.backward(ones({2, 3}, {.dtype = f64}));
    check_close(a.grad(), {1, 1, 1}, {3});
    check_close(b.grad(), {3}, {});

    const std::uint8_t keep[] = {0, 1, 0};
    Tensor x = from({1, 2, 3, 4, 5, 6}, {2, 3}, {.dtype = f64, .requires_grad = true});
    const Tensor m = masked_fill(x, mask(keep, {3}), -1.5);
    check_close(m, {1, -1.5, 3, 4, -1.5, 6}, {2, 3});
    check_close(grad_of_ones(x, m), {1, 0, 1, 1, 0, 1}, {2, 3});
    const Tensor inf =
        masked_fill(x.to(f32), mask(keep, {1, 3}), -std::numeric_limits<double>::infinity());
    CHECK(std::isinf(inf.at({1, 1})));
    CHECK(inf.at({1, 1}) < 0);
    CHECK(inf.at({1, 2}) == 6.0);
}

TEST_CASE("masked_fill: a causal mask over a tensor above the parallel threshold") {
    std::vector<std::uint8_t> future(100 * 100);
    for (std::size_t i = 0; i < 100; ++i)
        for (std::size_t j = 0; j < 100; ++j) future[i * 100 + j] = j > i;
    const Tensor x = ones({4, 100, 100});
    const Tensor y = masked_fill(x, mask(future, {100, 100}), -5.0);
    const float* p = y.data<float>();
    std::int64_t wrong = 0;
    for (std::size_t b = 0; b < 4; ++b)
        for (std::size_t i = 0; i < 100; ++i)
            for (std::size_t j = 0; j < 100; ++j)
                wrong += p[(b * 100 + i) * 100 + j] != (j > i ? -5.0f : 1.0f);
    CHECK(wrong == 0);
}

TEST_CASE("shape ops: errors name the op, the shapes and what differs") {
    const Tensor x = zeros({2, 3});
    using test::check_throws_with;
    check_throws_with<ShapeError>(
        [&] {
            concat({x, zeros({2, 4})}, 0);
        },
        {"concat: [2,3] and [2,4] along axis 0: sizes differ on axis 1 (3 vs 4)"});
    check_throws_with<ShapeError>(
        [&] {
            concat({x, zeros({3})}, 0);
        },
        {"concat: [2,3] and [3] along axis 0: ranks differ (2 vs 1)"});
    check_throws_with<ValueError>(
        [&] {
            concat({x, zeros({2, 3}, {.dtype = f64})}, 1);
        },
        {"concat", "dtypes differ (f32 vs f64)"});
    check_throws_with<ValueError>([&] { concat({}, 0); }, {"concat", "empty"});
    check_throws_with<ShapeError>([&] { concat({x}, 2); },
                                  {"concat: axis 2 is out of range for rank 2"});
    check_throws_with<ShapeError>(
        [&] {
            reshape(x, {-1, -1});
        },
        {"reshape: [2,3] to [-1,-1]: only one dimension can be -1 (got 2)"});
    check_throws_with<ShapeError>(
        [&] {
            reshape(x, {4, 2});
        },
        {"reshape: [2,3] to [4,2]: sizes differ (6 vs 8)"});
    check_throws_with<ShapeError>(
        [&] {
            reshape(x, {-1, 4});
        },
        {"reshape: [2,3] to [-1,4]: sizes differ (6 elements"});
    check_throws_with<ShapeError>(
        [&] {
            reshape(x, {-2, -3});
        },
        {"reshape: [2,3] to [-2,-3]: negative dimension (-2)"});
    check_throws_with<ShapeError>(
        [&] {
            reshape(zeros({0, 3}), {-1, 0});
        },
        {"reshape: [0,3] to [-1,0]: -1 is ambiguous"});
    check_throws_with<ShapeError>(
        [&] {
            permute(zeros({2, 3, 4}), {0, 1});
        },
        {"permute: [2,3,4] with axes [0,1]: expected 3 axes (got 2)"});
    check_throws_with<ShapeError>(
        [&] {
            permute(zeros({2, 3, 4}), {0, -3, 1});
        },
        {"permute: [2,3,4] with axes [0,-3,1]: axis repeated (0)"});
    check_throws_with<ShapeError>(
        [&] {
            permute(x, {0, 2});
        },
        {"permute: axis 2 is out of range for rank 2"});
    check_throws_with<ShapeError>([&] { transpose(x, 0, -3); },
                                  {"transpose: axis -3 is out of range for rank 2"});
    check_throws_with<ShapeError>([&] { slice(x, 2, 0, 1); },
                                  {"slice: axis 2 is out of range for rank 2"});
    check_throws_with<ShapeError>(
        [&] {
            split(x, {1, 1}, 1);
        },
        {"split: [2,3] into [1,1] along axis 1: sizes do not add up to the axis length (2 vs 3)"});
    check_throws_with<ShapeError>(
        [&] {
            split(x, {4, -1}, 1);
        },
        {"split: [2,3] into [4,-1] along axis 1: negative size (-1)"});
    check_throws_with<ShapeError>(
        [&] {
            broadcast_to(x, {4, 3});
        },
        {"broadcast_to: [2,3] to [4,3]: sizes differ on axis 0 (2 vs 4)"});
    check_throws_with<ShapeError>(
        [&] { broadcast_to(x, {3}); },
        {"broadcast_to: [2,3] to [3]: rank exceeds the target's (2 vs 1)"});
    const std::uint8_t bits[] = {1, 0, 1, 0, 1, 0};
    const Tensor cond = mask(bits, {2, 3});
    check_throws_with<ShapeError>(
        [&] { where(cond, zeros({4}), zeros({3})); },
        {"where: cond [2,3], a [4], b [3]: shapes do not broadcast (axis 1: 3 vs 4)"});
    check_throws_with<ValueError>([&] { where(x, x, x); },
                                  {"where: cond [2,3]: expected a b8 mask (got f32)"});
    check_throws_with<ValueError>([&] { where(cond, x, x.to(f64)); },
                                  {"where: a [2,3] f32, b [2,3] f64: dtypes differ"});
    check_throws_with<ShapeError>(
        [&] {
            masked_fill(x, mask(bits, {3, 2}), 0.0);
        },
        {"masked_fill: x [2,3], mask [3,2]: sizes differ on axis 0 (3 vs 2)"});
    check_throws_with<ValueError>([&] { masked_fill(x, x, 0.0); },
                                  {"masked_fill: mask [2,3]: expected a b8 mask (got f32)"});
}
