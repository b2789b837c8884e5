// Reductions, matmul and linear: values, gradients by hand and errors. Their float64 gradchecks are
// check/gradcheck_suite's (test_gradcheck_suite.cpp).
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "autograd/ops.hpp"
#include "autograd/tape.hpp"
#include "support.hpp"

using namespace tapegrad;
using test::check_close;
using test::iota;

namespace {

// dx for y.backward(dy).
Tensor grad_for(const Tensor& x, const Tensor& y, const Tensor& dy) {
    x.zero_grad();
    y.backward(dy);
    return x.grad();
}

using Axes = std::vector<std::int64_t>;

}  // namespace

TEST_CASE("sum and mean: single, multiple and all axes, with and without keepdims") {
    const Tensor x = from({1, 2, 3, 4, 5, 6}, {2, 3}, {.dtype = f64});
    check_close(sum(x, {0}), {5, 7, 9}, {3});
    check_close(sum(x, {1}, true), {6, 15}, {2, 1});
    check_close(sum(x, {-1}), {6, 15}, {2});
    check_close(sum(x), {21}, {});
    check_close(sum(x, {}, true), {21}, {1, 1});
    check_close(sum(x, {1, 0}), {21}, {});
    check_close(mean(x, {0}), {2.5, 3.5, 4.5}, {3});
    check_close(mean(x, {-1}, true), {2, 5}, {2, 1});
    check_close(mean(x), {3.5}, {});

    const Tensor z = iota({2, 2, 3});  // z[a,b,c] = 6a + 3b + c
    // b = 0: 0+1+2 + 6+7+8 = 24;  b = 1: 3+4+5 + 9+10+11 = 42
    check_close(sum(z, {0, 2}), {24, 42}, {2});
    check_close(sum(z, {-1, 0}, true), {24, 42}, {1, 2, 1});
    check_close(mean(z, {0, 2}), {4, 7}, {2});
    check_close(sum(z, {1}), {3, 5, 7, 15, 17, 19}, {2, 3});
    check_close(sum(from({4}, {}, {.dtype = f64})), {4}, {});
}

TEST_CASE("sum and max: a rank-10 tensor reduced over all 10 axes, values and gradcheck") {
    const Shape shape{2, 1, 2, 1, 2, 1, 2, 1, 1, 2};  // 32 elements
    const Axes all{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    const Tensor z = iota(shape);  // 0, 1, ..., 31
    check_close(sum(z, all), {496}, {});
    check_close(sum(z, all, true), {496}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
    check_close(max(z, {9, 0, 2, 4, 6, 1, 3, 5, 7, 8}), {31}, {});
    check_close(sum(z, {0, 2, 4, 6, 8, 9}), {496}, {1, 1, 1, 1});

    Tensor x = uniform(shape, 0.5, 2, {.dtype = f64, .seed = 10, .requires_grad = true});
    test::check_gradients(
        [all](const std::vector<Tensor>& xs) { return sum(mul(xs[0], xs[0]), all); }, {x});
    test::check_gradients(
        [](const std::vector<Tensor>& xs) {
            return sum(xs[0], {1, 3, 5, 7, 9}, true);
        },
        {x});
    test::check_gradients([all](const std::vector<Tensor>& xs) { return max(xs[0], all); }, {x});
}

TEST_CASE("sum and mean: gradients by hand") {
    Tensor x = from({1, 2, 3, 4, 5, 6}, {2, 3}, {.dtype = f64, .requires_grad = true});
    check_close(grad_for(x, sum(x, {1}), from({2, 3}, {2}, {.dtype = f64})), {2, 2, 2, 3, 3, 3},
                {2, 3});
    check_close(grad_for(x, mean(x, {0}, true), from({2, 4, 6}, {1, 3}, {.dtype = f64})),
                {1, 2, 3, 1, 2, 3}, {2, 3});
    check_close(grad_for(x, mean(x), from({12}, {}, {.dtype = f64})), {2, 2, 2, 2, 2, 2}, {2, 3});
}

TEST_CASE("max: values over single, multiple and all axes") {
    const Tensor x = from({1, 5, 3, 4, 2, 6}, {2, 3}, {.dtype = f64});
    check_close(max(x, {1}), {5, 6}, {2});
    check_close(max(x, {0}, true), {4, 5, 6}, {1, 3});
    check_close(max(x), {6}, {});
    check_close(max(x, {0, -1}, true), {6}, {1, 1});
    check_close(max(from({-3, -1, -2}, {3}, {.dtype = f64})), {-1}, {});
}

TEST_CASE("max: the gradient is split evenly among tied maxima") {
    Tensor x = from({1, 3, 3, 2, 2, 2}, {2, 3}, {.dtype = f64, .requires_grad = true});
    check_close(max(x, {1}), {3, 2}, {2});
    const double third = 1.0 / 3.0;
    check_close(grad_for(x, max(x, {1}), ones({2}, {.dtype = f64})),
                {0, 0.5, 0.5, third, third, third}, {2, 3});
    check_close(grad_for(x, max(x), from({4}, {}, {.dtype = f64})), {0, 2, 2, 0, 0, 0}, {2, 3});
    // y[b] = max over a and c of z[a,b,c]: b = 0 sees {1,4,0,4} (4 twice), b = 1 sees {4,2,3,3}
    Tensor z = from({1, 4, 4, 2, 0, 4, 3, 3}, {2, 2, 2}, {.dtype = f64, .requires_grad = true});
    const Tensor y = max(z, {0, -1}, true);
    check_close(y, {4, 4}, {1, 2, 1});
    check_close(grad_for(z, y, from({2, 6}, {1, 2, 1}, {.dtype = f64})), {0, 1, 6, 0, 0, 1, 0, 0},
                {2, 2, 2});
}

TEST_CASE("matmul: 2-D values under all four transpose flags") {
    const Tensor a = from({1, 2, 3, 4, 5, 6}, {2, 3}, {.dtype = f64});     // [[1,2,3],[4,5,6]]
    const Tensor b = from({7, 8, 9, 10, 11, 12}, {3, 2}, {.dtype = f64});  // [[7,8],[9,10],[11,12]]
    const Tensor at = from({1, 4, 2, 5, 3, 6}, {3, 2}, {.dtype = f64});    // aᵀ stored
    const Tensor bt = from({7, 9, 11, 8, 10, 12}, {2, 3}, {.dtype = f64});  // bᵀ stored
    const std::vector<double> ab = {58, 64, 139, 154};
    check_close(matmul(a, b), ab, {2, 2});
    check_close(matmul(at, b, true, false), ab, {2, 2});
    check_close(matmul(a, bt, false, true), ab, {2, 2});
    check_close(matmul(at, bt, true, true), ab, {2, 2});
    check_close(matmul(b, a), {39, 54, 69, 49, 68, 87, 59, 82, 105}, {3, 3});
}

TEST_CASE("matmul: batched values, and leading axes that broadcast") {
    const Tensor a = from({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2}, {.dtype = f64});
    const Tensor b = from({1, 0, 0, 1, 2, 0, 0, 2}, {2, 2, 2}, {.dtype = f64});  // I and 2·I
    check_close(matmul(a, b), {1, 2, 3, 4, 10, 12, 14, 16}, {2, 2, 2});
    check_close(matmul(a, from({0, 1, 1, 0}, {2, 2}, {.dtype = f64})), {2, 1, 4, 3, 6, 5, 8, 7},
                {2, 2, 2});
    check_close(matmul(from({0, 1, 1, 0}, {2, 2}, {.dtype = f64}), a), {3, 4, 1, 2, 7, 8, 5, 6},
                {2, 2, 2});

    // a[i,0] = (i+1)·A0, b[j] = (j+1)·B0 with A0 = iota [3,4], B0 = iota [4,2];
    // A0·B0 = [[28,34],[76,98],[124,162]], so out[i,j] = (i+1)(j+1)·A0·B0.
    const std::vector<double> base = {28, 34, 76, 98, 124, 162};
    const Tensor big_a = concat({iota({1, 1, 3, 4}), iota({1, 1, 3, 4}) * 2.0}, 0);  // [2,1,3,4]
    std::vector<Tensor> bs;
    for (int j = 1; j <= 5; ++j) bs.push_back(iota({1, 4, 2}) * static_cast<double>(j));
    const Tensor big_b = concat(bs, 0);  // [5,4,2]
    std::vector<double> expected;
    for (int i = 1; i <= 2; ++i)
        for (int j = 1; j <= 5; ++j)
            for (double v : base) expected.push_back(i * j * v);
    check_close(matmul(big_a, big_b), expected, {2, 5, 3, 2});
    check_close(matmul(transpose(big_a, -1, -2), transpose(big_b, 1, 2), true, true), expected,
                {2, 5, 3, 2});
}

TEST_CASE("linear: values with and without bias on a 3-D input") {
    Tensor x = from({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {2, 2, 3},
                    {.dtype = f64, .requires_grad = true});
    const Tensor w = from({1, 0, 0, 1, 1, 1}, {3, 2}, {.dtype = f64});  // x·w = [x0 + x2, x1 + x2]
    const Tensor b = from({10, 20}, {2}, {.dtype = f64});
    check_close(linear(x, w), {4, 5, 10, 11, 16, 17, 22, 23}, {2, 2, 2});
    check_close(linear(x, w, b), {14, 25, 20, 31, 26, 37, 32, 43}, {2, 2, 2});
    // dx = dy·wᵀ: a row dy = [1, 2] gives [1, 2, 3]
    const Tensor dy = from({1, 2, 1, 2, 1, 2, 1, 2}, {2, 2, 2}, {.dtype = f64});
    check_close(grad_for(x, linear(x, w, b), dy), {1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3}, {2, 2, 3});
    check_close(linear(from({1, 2, 3}, {3}, {.dtype = f64}), w, b), {14, 25}, {2});
}

TEST_CASE("matmul and linear: errors name the shapes and what differs") {
    using test::check_throws_with;
    check_throws_with<ShapeError>(
        [] {
            matmul(zeros({2, 3}), zeros({4, 5}));
        },
        {"matmul: [2,3] @ [4,5]: inner dimensions differ (3 vs 4)"});
    check_throws_with<ShapeError>(
        [] {
            matmul(zeros({3}), zeros({3, 2}));
        },
        {"matmul: [3] @ [3,2]: both operands need rank >= 2"});
    check_throws_with<ShapeError>(
        [] {
            matmul(zeros({2, 2, 3}), zeros({3, 3, 4}));
        },
        {"matmul: [2,2,3] @ [3,3,4]: batch axes do not broadcast ([2] vs [3])"});
    check_throws_with<ValueError>(
        [] {
            matmul(zeros({2, 3}), zeros({3, 2}, {.dtype = f64}));
        },
        {"matmul", "dtypes differ"});
    check_throws_with<ShapeError>(
        [] {
            linear(zeros({2, 3}), zeros({4, 5}));
        },
        {"linear: x [2,3] @ kernel [4,5]: input features differ from the kernel's rows (3 vs 4)"});
    check_throws_with<ShapeError>(
        [] {
            linear(zeros({2, 4}), zeros({4, 5}), zeros({4}));
        },
        {"linear: kernel [4,5], bias [4]: bias must be [5]"});
    check_throws_with<ShapeError>(
        [] {
            sum(zeros({2, 3}), {2});
        },
        {"sum: axis 2 is out of range for rank 2"});
    check_throws_with<ShapeError>(
        [] {
            max(zeros({0, 3}));
        },
        {"max: tensor [0,3]: reduction of an empty tensor"});
}
