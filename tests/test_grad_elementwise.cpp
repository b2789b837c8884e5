// Elementwise ops and the tape: values, gradients by hand and errors. Their float64 gradchecks are
// check/gradcheck_suite's (test_gradcheck_suite.cpp).
#include <doctest/doctest.h>

#include <stdexcept>

#include "autograd/ops.hpp"
#include "autograd/tape.hpp"
#include "support.hpp"

using namespace tapegrad;

TEST_CASE("unary ops: forward values match hand-computed numbers") {
    const Tensor x = from({-1.0, 0.5, 2.0}, {3}, {.dtype = f64});
    test::check_close(exp(x), {0.36787944117144233, 1.6487212707001282, 7.38905609893065}, {3});
    test::check_close(tanh(x), {-0.7615941559557649, 0.46211715726000974, 0.9640275800758169}, {3});
    test::check_close(sigmoid(x), {0.2689414213699951, 0.6224593312018546, 0.8807970779778823},
                      {3});
    test::check_close(relu(x), {0, 0.5, 2}, {3});
    // gelu tanh approximation, from torch.nn.functional.gelu(x, approximate="tanh")
    test::check_close(gelu(x), {-0.15880800939172324, 0.34571400982514394, 1.9545976940871754}, {3},
                      1e-12);
    test::check_close(pow(x, 2.0), {1, 0.25, 4}, {3});
    test::check_close(-x * 2.0 + 1.0, {3, 0, -3}, {3});
    test::check_close(1.0 - x / 2.0, {1.5, 0.75, 0}, {3});
}

TEST_CASE("binary ops: broadcast values match NumPy") {
    const Tensor a = from({1, 2, 3, 4, 5, 6}, {2, 3});
    const Tensor b = from({10, 20, 30}, {3});
    test::check_close(a + b, {11, 22, 33, 14, 25, 36}, {2, 3});
    const Tensor c = from({2, 3}, {2, 1});
    test::check_close(a * c, {2, 4, 6, 12, 15, 18}, {2, 3});
    test::check_close(c - b, {-8, -18, -28, -7, -17, -27}, {2, 3});
    test::check_throws_with<ShapeError>([&] { a + from({1, 2}, {2}); }, {"add", "[2,3]", "[2]"});
    test::check_throws_with<ValueError>([&] { a + b.to(f64); }, {"add", "dtypes differ"});
}

TEST_CASE("tape: a tensor used twice gets both contributions") {
    Tensor x = from({3.0}, {1}, {.dtype = f64, .requires_grad = true});
    Tensor y = x * x + x;  // dy/dx = 2x + 1 = 7
    y.backward(ones({1}, {.dtype = f64}));
    CHECK(x.grad().item() == doctest::Approx(7.0));
    Tensor z = x * 2.0;  // gradients accumulate across backward calls until zero_grad
    z.backward(ones({1}, {.dtype = f64}));
    CHECK(x.grad().item() == doctest::Approx(9.0));
    x.zero_grad();
    CHECK_FALSE(x.grad().defined());
}

TEST_CASE("tape: NoGrad, detach and misuse give the documented behaviour") {
    Tensor x = from({1.0, 2.0}, {2}, {.dtype = f64, .requires_grad = true});
    {
        NoGrad no_grad;
        CHECK_FALSE((x * 2.0).requires_grad());
    }
    CHECK_FALSE(x.detach().requires_grad());
    CHECK(x.detach().shares_storage(x));
    test::check_throws_with<ValueError>([&] { x.detach().backward(ones({2}, {.dtype = f64})); },
                                        {"does not require grad"});
    Tensor y = exp(x);
    test::check_throws_with<ShapeError>([&] { y.backward(); }, {"not a scalar"});
    Tensor s = sum(y);
    s.backward();
    test::check_throws_with<ValueError>([&] { s.backward(); }, {"sum", "freed", "retain_graph"});
    Tensor t = sum(exp(x));
    x.zero_grad();
    t.backward({.retain_graph = true});
    t.backward();
    CHECK(x.grad().at({0}) == doctest::Approx(2 * std::exp(1.0)));
}

TEST_CASE("backward(loss) and loss.backward() are one sweep; gradients sum without recording") {
    Tensor x = from({1.0, 2.0}, {2}, {.dtype = f64, .requires_grad = true});
    Tensor w = from({3.0}, {1}, {.dtype = f64, .requires_grad = true});  // broadcast against x
    const Tensor y = x * w + x;  // x reaches the loss twice: both contributions add up
    backward(sum(y), {.retain_graph = true});
    test::check_close(x.grad(), {4, 4}, {2});
    test::check_close(w.grad(), {3}, {1});  // summed back to w's shape by the tape's kernels
    CHECK(x.grad().is_leaf());
    sum(y).backward();
    test::check_close(x.grad(), {8, 8}, {2});
    test::check_throws_with<ShapeError>([&] { backward(y); }, {"not a scalar"});
}

TEST_CASE("op attributes: backward reads the struct its op stored, and only that one") {
    struct ScaleAttrs {
        double factor;
    };
    struct OtherAttrs {
        double factor;
    };
    const auto scaled = [](const Tensor& x, double factor, BackwardFn fn) {
        return record("scaled", {x}, (x * factor).detach(), {}, fn, ScaleAttrs{factor});
    };
    Tensor x = from({1.0, 2.0}, {2}, {.dtype = f64, .requires_grad = true});
    sum(scaled(x, 3.0, [](Backward& bw) {
        bw.accumulate(0, bw.grad_out() * bw.attrs<ScaleAttrs>().factor);
    })).backward();
    test::check_close(x.grad(), {3, 3}, {2});
    const Tensor wrong = sum(scaled(x, 3.0, [](Backward& bw) {
        bw.accumulate(0, bw.grad_out() * bw.attrs<OtherAttrs>().factor);
    }));
    test::check_throws_with<std::logic_error>([&] { wrong.backward(); },
                                              {"scaled", "another type"});
}

TEST_CASE("gradcheck: catches a deliberately wrong backward") {
    // cube with the derivative off by a factor: 2x² instead of 3x².
    const auto wrong_cube = [](const std::vector<Tensor>& xs) {
        const Tensor y = xs[0] * xs[0] * xs[0];
        return record("wrong_cube", {xs[0]}, y.detach(), {}, [](Backward& bw) {
            const Tensor& x = bw.input(0);
            bw.accumulate(0, bw.grad_out() * x * x * 2.0);
        });
    };
    Tensor x = uniform({4}, 0.5, 1.5, {.dtype = f64, .seed = 5, .requires_grad = true});
    const GradcheckReport report = gradcheck(wrong_cube, {x});
    CHECK_FALSE(report.ok);
    CHECK(report.message().find("FAILED") != std::string::npos);
    const double xv = x.to_vector()[report.element];
    CHECK(std::abs(report.numeric) > std::abs(report.analytic));  // 3x²·v vs 2x²·v
    CHECK(report.analytic / report.numeric == doctest::Approx(2.0 / 3.0).epsilon(1e-6));
    CHECK(xv > 0.5);
    test::check_throws_with<ValueError>(
        [&] { gradcheck(wrong_cube, {uniform({2}, 0, 1, {.requires_grad = true})}); }, {"f64"});
}
