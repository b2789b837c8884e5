// core/xtensor.hpp: zero-copy views both ways, dtypes and shapes, and the rule that keeps writes
// away from buffers a recorded graph needs for its backward.
#include <doctest/doctest.h>

#include <type_traits>
#include <utility>
#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

#include "autograd/ops.hpp"
#include "autograd/tape.hpp"
#include "core/xtensor.hpp"
#include "support.hpp"

using namespace tapegrad;

TEST_CASE("as_xtensor: views have the tensor's shape and values in float32 and float64") {
    const Tensor a = test::iota({2, 3, 4}, f32);
    const auto va = as_xtensor<float>(a);
    CHECK(va.dimension() == 3);
    CHECK(va.shape()[0] == 2);
    CHECK(va.shape()[2] == 4);
    CHECK(va(1, 2, 3) == 23.0f);
    CHECK(va.data() == a.data<float>());  // the tensor's own buffer, no copy

    const Tensor b = test::iota({5}, f64);
    const auto vb = as_xtensor<const double>(b);
    CHECK(xt::sum(vb)() == 10.0);
    const auto scalar = as_xtensor<float>(full({}, 2.5));
    CHECK(scalar.dimension() == 0);
    CHECK(scalar() == 2.5f);
}

TEST_CASE("as_xtensor: a write through a view is seen by the tensor, and the other way round") {
    const Tensor t = zeros({2, 3}, {.dtype = f64});
    auto v = as_xtensor<double>(t);
    v(1, 2) = 7.0;
    xt::view(v, 0, xt::all()) = xt::xarray<double>{1.0, 2.0, 3.0};
    test::check_close(t, {1, 2, 3, 0, 0, 7}, {2, 3});
    t.data<double>()[3] = -4.0;
    CHECK(v(1, 0) == -4.0);
}

TEST_CASE("as_xtensor: a const view cannot be written") {
    const auto r = as_xtensor<const float>(ones({2, 2}));
    static_assert(!std::is_assignable_v<decltype(r(0, 0)), float>);
    static_assert(std::is_assignable_v<decltype(as_xtensor<float>(ones({2}))(0)), float>);
    CHECK(r(1, 1) == 1.0f);
}

TEST_CASE("as_xtensor: the view keeps the buffer alive after the tensor is gone") {
    auto v = as_xtensor<float>(full({3}, 4.0));
    CHECK(v(2) == 4.0f);
    v(2) = 5.0f;
    CHECK(v(2) == 5.0f);
}

TEST_CASE("as_xtensor: a view of another dtype is an error naming both") {
    test::check_throws_with<ValueError>(
        [] {
            as_xtensor<double>(zeros({2, 3}));
        },
        {"as_xtensor", "[2,3]", "f32", "f64", "dtypes differ"});
    test::check_throws_with<ValueError>([] { as_xtensor<const float>(zeros({4}, {.dtype = f64})); },
                                        {"as_xtensor", "[4]", "f64", "f32"});
}

TEST_CASE("as_xtensor: buffers a recorded graph keeps for backward are read-only until backward") {
    const Tensor x = uniform({2, 3}, -1, 1, {.seed = 1});  // needs no gradient, yet mul saves it
    const Tensor w = uniform({2, 3}, -1, 1, {.seed = 2, .requires_grad = true});
    const std::vector<double> x_before = x.to_vector();
    Tensor loss = sum(mul(x, w));
    for (const Tensor& t : {x, w, x.detach(), w.view_as_shape({6})}) {
        test::check_throws_with<ValueError>([&] { as_xtensor<float>(t); },
                                            {"as_xtensor", "recorded graph", "const float"});
        CHECK(as_xtensor<const float>(t).flat(0) == t.to_vector()[0]);
    }
    loss.backward();  // frees the graph's saved tensors
    as_xtensor<float>(x)(0, 0) = 1.0f;
    as_xtensor<float>(w)(0, 0) = 1.0f;
    test::check_close(w.grad(), x_before, {2, 3});  // computed before the writes
}

TEST_CASE("as_xtensor: a retained graph keeps its buffers read-only until it is dropped") {
    const Tensor w = uniform({3}, -1, 1, {.dtype = f64, .seed = 3, .requires_grad = true});
    {
        Tensor loss = sum(exp(w));
        loss.backward({.retain_graph = true});
        CHECK_THROWS_AS(as_xtensor<double>(w), ValueError);
    }
    as_xtensor<double>(w)(0) = 0.5;
    CHECK(w.at({0}) == 0.5);
}

TEST_CASE("as_xtensor: an op refuses to record a buffer a writable view is open on") {
    const Tensor x = ones({2, 2});
    const Tensor w = ones({2, 2}, {.requires_grad = true});
    {
        auto v = as_xtensor<float>(x);
        test::check_throws_with<ValueError>([&] { mul(x, w); },
                                            {"mul", "input", "[2,2]", "writable as_xtensor view"});
        const NoGrad no_grad;  // nothing is kept without a tape
        CHECK(mul(x, w).at({0, 0}) == 1.0);
    }
    const auto read = as_xtensor<const float>(x);
    CHECK(mul(x, w).requires_grad());
}

TEST_CASE("from_xtensor: an rvalue xarray or xtensor gives its buffer to the tensor") {
    xt::xarray<double> a = {{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}};
    const double* buffer = a.data();
    const Tensor t = from_xtensor(std::move(a));
    CHECK(t.dtype() == f64);
    CHECK(t.data<double>() == buffer);
    test::check_close(t, {1, 2, 3, 4, 5, 6}, {2, 3});

    xt::xtensor<float, 1> b = {0.5f, 1.5f};
    const float* fbuffer = b.data();
    const Tensor u = from_xtensor(std::move(b));
    CHECK(u.dtype() == f32);
    CHECK(u.data<float>() == fbuffer);
    Tensor grad_input = u.clone().requires_grad(true);
    sum(mul(grad_input, u)).backward();
    test::check_close(grad_input.grad(), {0.5, 1.5}, {2});
}

TEST_CASE("from_xtensor: lvalues, views and expressions are evaluated once into a new buffer") {
    const xt::xarray<float> a = {{1.0f, 2.0f}, {3.0f, 4.0f}, {5.0f, 6.0f}};
    const Tensor copy = from_xtensor(a);
    CHECK(copy.data<float>() != a.data());
    test::check_close(copy, {1, 2, 3, 4, 5, 6}, {3, 2});
    test::check_close(from_xtensor(xt::transpose(a)), {1, 3, 5, 2, 4, 6}, {2, 3});
    test::check_close(from_xtensor(2.0 * xt::view(a, xt::range(1, 3), 0) + 1.0), {7, 11}, {2});
    const Tensor t = test::iota({2, 2}, f64);
    test::check_close(from_xtensor(xt::exp(as_xtensor<const double>(t))),
                      {1.0, 2.718281828459045, 7.38905609893065, 20.085536923187668}, {2, 2});
}

TEST_CASE("from_xtensor: more axes than a tensor holds is an error naming the shape") {
    xt::xarray<float> a = xt::ones<float>(std::vector<std::size_t>(17, 1));
    test::check_throws_with<ShapeError>([&] { from_xtensor(a); },
                                        {"from_xtensor", "[1,1,1", "rank", "17 vs 16"});
}
