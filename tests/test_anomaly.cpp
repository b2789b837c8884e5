#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "autograd/anomaly.hpp"
#include "autograd/ops.hpp"
#include "layers/dense.hpp"
#include "support.hpp"

using namespace tapegrad;

namespace {

// x [5,4] -> dense1 (tanh) [5,8] -> dense2 [5,3] -> sqrt [5,3] -> dense3 [5,2]: dense2's outputs
// have both signs, so the NaN is born in sqrt, in the middle, and spreads to everything after.
struct SmallMlp {
    Dense dense1{4, {.units = 8, .activation = Activation::tanh, .seed = 1}};
    Dense dense2{8, {.units = 3, .seed = 2}};
    Dense dense3{3, {.units = 2, .seed = 3}};
    Tensor operator()(const Tensor& x) { return dense3(sqrt(dense2(dense1(x)))); }
};

}  // namespace

TEST_CASE("anomaly: off by default, a NaN passes silently") {
    REQUIRE_FALSE(detect_anomaly_enabled());
    Tensor x = from({1, 2, 3, 4, -1, 6}, {2, 3}, {.requires_grad = true});
    Tensor y = log(x);
    CHECK(std::isnan(y.at({1, 1})));
    sum(y).backward();
    CHECK(x.grad().at({1, 1}) == -1.0);
}

TEST_CASE("anomaly: the guard turns the mode on for its scope and restores it") {
    {
        DetectAnomaly on;
        CHECK(detect_anomaly_enabled());
        {
            DetectAnomaly off(false);
            CHECK_FALSE(detect_anomaly_enabled());
        }
        CHECK(detect_anomaly_enabled());
    }
    CHECK_FALSE(detect_anomaly_enabled());
    set_detect_anomaly(true);
    CHECK(detect_anomaly_enabled());
    set_detect_anomaly(false);
}

TEST_CASE("anomaly: log of a negative number names log and the forward pass") {
    DetectAnomaly guard;
    Tensor x = from({1, 2, 3, 4, -1, 6}, {2, 3}, {.requires_grad = true});
    test::check_throws_with<AnomalyError>(
        [&] { log(x); }, {"anomaly: log produced NaN in forward (input [2,3] -> output [2,3]); "
                          "first bad element at index 4"});
    // An op with two inputs lists both shapes; overflow is reported as Inf.
    Tensor big = full({3}, 1e30, {.requires_grad = true});
    test::check_throws_with<AnomalyError>(
        [&] {
            mul(big, full({2, 1}, 1e30));
        },
        {"anomaly: mul produced Inf in forward (inputs [3], [2,1] -> output [2,3])", "index 0"});
    test::check_throws_with<AnomalyError>([&] { log(mul_scalar(big, 0.0)); },
                                          {"log produced -Inf in forward"});
    CHECK(log(add_scalar(mul(x, x), 1.0)).shape() == Shape{2, 3});  // finite values pass
}

TEST_CASE("anomaly: sqrt at 0 is finite forward and infinite backward, reported as backward") {
    Tensor x = from({0, 1, 4}, {3}, {.requires_grad = true});
    Tensor loss;
    {
        DetectAnomaly guard;
        loss = sum(sqrt(x));  // forward passes: sqrt(0) = 0
        CHECK(loss.item() == 3.0);
        test::check_throws_with<AnomalyError>(
            [&] { loss.backward({.retain_graph = true}); },
            {"anomaly: sqrt produced Inf in backward (input [3] -> output [3]); gradient of "
             "input 0 [3], first bad element at index 0"});
        CHECK_FALSE(x.grad().defined());  // nothing reached the leaf
    }
    // The failed sweep left no half-summed gradient behind: the next one counts dy once.
    loss.backward();
    CHECK(std::isinf(x.grad().at({0})));
    CHECK(x.grad().at({1}) == 0.5);
    CHECK(x.grad().at({2}) == 0.25);
}

TEST_CASE("anomaly: a NaN born inside a small MLP names sqrt, not the layers around it") {
    SmallMlp mlp;
    const Tensor x = uniform({5, 4}, -2, 2, {.seed = 11});
    const Tensor y = mlp(x);  // without anomaly mode the NaN only shows at the end
    bool any_nan = false;
    for (double v : y.to_vector()) any_nan = any_nan || std::isnan(v);
    REQUIRE(any_nan);
    DetectAnomaly guard;
    test::check_throws_with<AnomalyError>(
        [&] { mlp(x); }, {"anomaly: sqrt produced NaN in forward (input [5,3] -> output [5,3])"});
}

TEST_CASE("anomaly: finite training steps run unchanged with the mode on") {
    SmallMlp mlp;
    const Tensor x = uniform({5, 4}, -2, 2, {.seed = 11});
    const auto grads_of = [&] {
        for (const auto& [name, p] : mlp.dense1.named_parameters()) p.zero_grad();
        sum(mlp.dense3(tanh(mlp.dense2(mlp.dense1(x))))).backward();
        return mlp.dense1.kernel().grad().to_vector();
    };
    const std::vector<double> plain = grads_of();
    DetectAnomaly guard;
    CHECK(grads_of() == plain);
}

TEST_CASE("anomaly: a NaN gradient from the loss side is caught where it is made") {
    DetectAnomaly guard;
    Tensor w = from({1, 2}, {2}, {.requires_grad = true});
    const double inf = std::numeric_limits<double>::infinity();
    // div(w, 0) is Inf in forward: caught there, before any backward.
    test::check_throws_with<AnomalyError>(
        [&] {
            div(w, from({0, 1}, {2}));
        },
        {"div produced Inf in forward"});
    // An Inf handed in from outside is not an op's doing; the first op it passes through is named.
    Tensor y = mul(w, from({1, 1}, {2}));
    test::check_throws_with<AnomalyError>(
        [&] {
            y.backward(from({inf, 1}, {2}));
        },
        {"mul produced Inf in backward (inputs [2], [2] -> output [2]); gradient of input 0"});
}
