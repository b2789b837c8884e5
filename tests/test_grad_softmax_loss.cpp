// softmax, log_softmax, the attention core masked_softmax, cross_entropy and mse_loss: values
// against torch 1.13 (float64, the call that produced each list is named above it), stability at
// ±1000, and error messages. Their float64 gradchecks are check/gradcheck_suite's.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "autograd/ops.hpp"
#include "autograd/tape.hpp"
#include "support.hpp"

using namespace tapegrad;
using test::check_gradients;

namespace {

// scores [2,3,4] (B, Tq, Tk) and a padding mask [2,1,4] shared by the masked_softmax tests.
Tensor attention_scores(TensorOptions options = {.dtype = f64}) {
    return from({0.3,  -0.2, 1.1, 0.5,  -0.7, 0.8,  0.1, -1.2, 2.0, 0.4, -0.3, 0.6,
                 -0.5, 1.3,  0.2, -0.9, 0.7,  -1.1, 0.9, 0.3,  1.6, 0.0, -0.4, -0.8},
                {2, 3, 4}, options);
}

Tensor padding_mask() {
    const std::uint8_t keep[] = {1, 1, 1, 0, 1, 0, 1, 1};
    return mask(keep, {2, 1, 4});
}

Tensor class_targets(std::initializer_list<std::int32_t> values) {
    const std::vector<std::int32_t> v(values);
    return ids(v, {static_cast<std::int64_t>(v.size())});
}

// logits [4,5] used by the cross-entropy tests.
Tensor ce_logits(TensorOptions options = {.dtype = f64}) {
    return from({1.0,  2.0, 0.5, -1.0, 0.0, 0.3, -0.4, 2.5, 1.0,  -2.0,
                 -1.5, 0.2, 0.1, 3.0,  0.7, 0.0, 0.0,  1.0, -0.5, 2.0},
                {4, 5}, options);
}

}  // namespace

TEST_CASE("softmax: values along the last and inner axes match torch") {
    const Tensor x = from({0.5, -1.0, 2.0, 3.0, 0.0, -0.5}, {2, 3}, {.dtype = f64});
    // torch.softmax(x, -1), torch.log_softmax(x, -1)
    test::check_close(softmax(x),
                      {0.1752903921400367, 0.039112573270687456, 0.7855970345892759,
                       0.9259392562016979, 0.04609980105300302, 0.027960942745299075},
                      {2, 3}, 1e-14);
    test::check_close(log_softmax(x),
                      {-1.7413112966571571, -3.241311296657157, -0.24131129665715703,
                       -0.07694664454192604, -3.076946644541926, -3.576946644541926},
                      {2, 3}, 1e-14);
    const Tensor x3 = from({0.1, 0.2, -0.3, 0.4, 1.5, -2.0, 0.7, 0.0, -1.1, 0.9, 2.2, -0.6},
                           {2, 3, 2}, {.dtype = f64});
    // torch.softmax(x3, 1)
    test::check_close(
        softmax(x3, 1),
        {0.1746566246821892, 0.42877860523185535, 0.11707583669739442, 0.5237113710702588,
         0.7082675386204164, 0.04751002369788592, 0.17708555558086664, 0.2494751823487859,
         0.02927204545761922, 0.6136099346615211, 0.793642398961514, 0.1369148829896928},
        {2, 3, 2}, 1e-14);
    // torch.log_softmax(x3, 0)
    test::check_close(
        log_softmax(x3, 0),
        {-1.0374879504858856, -0.5981388693815918, -0.3711006659477777, -0.9740769841801067,
         -1.103186048885458, -1.620417409918451, -0.4374879504858857, -0.7981388693815918,
         -1.1711006659477778, -0.4740769841801067, -0.40318604888545784, -0.22041740991845102},
        {2, 3, 2}, 1e-14);
    test::check_close(softmax(x.to(f32)), softmax(x), 1e-6);  // float32 agrees to its precision
}

TEST_CASE("softmax: inputs of ±1000 give finite, exact results") {
    for (DType dtype : {f32, f64}) {
        INFO("dtype ", dtype_name(dtype));
        const Tensor x = from({1000, -1000, 0, -1000, -1000, -1000}, {2, 3}, {.dtype = dtype});
        test::check_close(softmax(x), {1, 0, 0, 1.0 / 3, 1.0 / 3, 1.0 / 3}, {2, 3}, 1e-7);
        test::check_close(log_softmax(x),
                          {0, -2000, -1000, -std::log(3.0), -std::log(3.0), -std::log(3.0)}, {2, 3},
                          1e-4, 1e-7);
        Tensor xg = x.clone().requires_grad(true);
        sum(log_softmax(xg) * from({1, 2, 3, 1, 2, 3}, {2, 3}, {.dtype = dtype})).backward();
        for (double g : xg.grad().to_vector()) CHECK(std::isfinite(g));
    }
}

TEST_CASE("softmax: an axis outside the tensor's rank is reported") {
    const Tensor x = zeros({2, 3, 4}, {.dtype = f64});
    test::check_throws_with<ShapeError>([&] { softmax(x, 3); }, {"softmax", "axis 3", "rank 3"});
}

TEST_CASE("masked_softmax: padding and causal masks match torch") {
    const Tensor s = attention_scores();
    // torch.softmax((0.5 * s).masked_fill(~keep, -1e9), -1), keep [2,1,4]
    test::check_close(masked_softmax(s, padding_mask(), 0.5),
                      {0.3057519137844233,  0.23811982988088953,
                       0.45612825633468707, 0.0,
                       0.2169750558981446,  0.4593361969409081,
                       0.32368874716094725, 0.0,
                       0.5662624030762993,  0.2544380989928021,
                       0.17929949793089864, 0.0,
                       0.30885185142133,    0.0,
                       0.43828163967495565, 0.2528665089037144,
                       0.3420087651598244,  0.0,
                       0.37797814098160176, 0.2800130938585737,
                       0.5991347344992725,  0.0,
                       0.22040935131399284, 0.18045591418673476},
                      {2, 3, 4}, 1e-14);
    // the same with keep & torch.ones(3, 4, dtype=torch.bool).tril()
    test::check_close(masked_softmax(s, padding_mask(), 0.5, /*causal=*/true),
                      {1.0,
                       0.0,
                       0.0,
                       0.0,
                       0.320821300824607,
                       0.679178699175393,
                       0.0,
                       0.0,
                       0.5662624030762993,
                       0.2544380989928021,
                       0.17929949793089864,
                       0.0,
                       1.0,
                       0.0,
                       0.0,
                       0.0,
                       1.0,
                       0.0,
                       0.0,
                       0.0,
                       0.7310585786300049,
                       0.0,
                       0.26894142136999516,
                       0.0},
                      {2, 3, 4}, 1e-14);
    // no mask and scale 1 is plain softmax; float32 agrees with float64
    test::check_close(masked_softmax(s, Tensor()), softmax(s), 1e-15);
    test::check_close(masked_softmax(s.to(f32), padding_mask(), 0.5, true),
                      masked_softmax(s, padding_mask(), 0.5, true), 1e-6);
}

TEST_CASE("masked_softmax: a fully masked row is uniform and passes no gradient") {
    Tensor s = from({5, -3, 1000, 0.5, 2, -1}, {2, 3}, {.dtype = f64, .requires_grad = true});
    const std::uint8_t keep[] = {0, 0, 0, 1, 0, 1};
    const Tensor y = masked_softmax(s, mask(keep, {2, 3}), 2.0);
    const double e = std::exp(2 * (-1 - 0.5));
    test::check_close(y, {1.0 / 3, 1.0 / 3, 1.0 / 3, 1 / (1 + e), 0, e / (1 + e)}, {2, 3}, 1e-15);
    sum(y * from({1, 2, 3, 4, 5, 6}, {2, 3}, {.dtype = f64})).backward();
    const std::vector<double> g = s.grad().to_vector();
    for (int j : {0, 1, 2, 4}) CHECK(g[j] == 0.0);
    CHECK(g[3] != 0.0);
}

TEST_CASE("masked_softmax: wrong mask shape, dtype or rank is reported") {
    const Tensor s = attention_scores();
    const std::uint8_t keep[] = {1, 0, 1};
    test::check_throws_with<ShapeError>(
        [&] { masked_softmax(s, mask(keep, {3}), 1.0); },
        {"masked_softmax", "scores [2,3,4]", "mask [3]", "does not broadcast"});
    test::check_throws_with<ShapeError>(
        [&] {
            masked_softmax(s, ones({1, 2, 3, 4}, {.dtype = b8}));
        },
        {"masked_softmax", "mask [1,2,3,4]", "does not broadcast"});
    test::check_throws_with<ValueError>([&] { masked_softmax(s, ones({4}, {.dtype = f64})); },
                                        {"masked_softmax", "mask [4] f64", "b8"});
    test::check_throws_with<ShapeError>(
        [&] {
            masked_softmax(from({1, 2}, {2}), Tensor(), 1.0, true);
        },
        {"masked_softmax", "scores [2]", "rank >= 2"});
}

TEST_CASE("cross_entropy: values and gradients match torch, ignored targets left out") {
    Tensor logits = ce_logits({.dtype = f64, .requires_grad = true});
    // torch.nn.functional.cross_entropy(logits, [1, 2, -100, 4]) and its .backward()
    const Tensor loss = cross_entropy(logits, class_targets({1, 2, -100, 4}));
    test::check_close(loss, {0.48455013277521425}, {}, 1e-14);
    loss.backward();
    test::check_close(logits.grad(),
                      {0.06904131204248642,
                       -0.14565958939527185,
                       0.041875672540555076,
                       0.009343725520297259,
                       0.025398879291933078,
                       0.02638046948137832,
                       0.013100153451570264,
                       -0.09524924014248415,
                       0.05312374184246786,
                       0.0026448753670677014,
                       0,
                       0,
                       0,
                       0,
                       0,
                       0.026218088621073644,
                       0.026218088621073644,
                       0.07126815387559336,
                       0.015902074587744085,
                       -0.13960640570548477},
                      {4, 5}, 1e-14);
    // torch.nn.functional.cross_entropy(logits, [1, 2, 3, 4]); ignore_index 3 drops the third row
    test::check_close(cross_entropy(ce_logits(), class_targets({1, 2, 3, 4})), {0.4145966162501571},
                      {}, 1e-14);
    test::check_close(cross_entropy(ce_logits(), class_targets({1, 2, 3, 4}), 3),
                      {0.48455013277521425}, {}, 1e-14);
    test::check_close(cross_entropy(ce_logits({.dtype = f32}), class_targets({1, 2, 3, 4})),
                      {0.4145966162501571}, {}, 1e-6);
}

TEST_CASE("cross_entropy: logits of ±1000 stay finite") {
    const Tensor big = from({1000, -1000, 0, -1000, 1000, 999}, {2, 3}, {.dtype = f64});
    // torch.nn.functional.cross_entropy(big, [1, 2])
    test::check_close(cross_entropy(big, class_targets({1, 2})), {1000.6566308437591}, {}, 1e-10);
    Tensor big32 = big.to(f32).requires_grad(true);
    const Tensor loss = cross_entropy(big32, class_targets({1, 2}));
    CHECK(std::isfinite(loss.item()));
    loss.backward();
    for (double g : big32.grad().to_vector()) CHECK(std::isfinite(g));
}

TEST_CASE("cross_entropy: all targets ignored gives 0 and zero gradients") {
    Tensor logits = ce_logits({.dtype = f64, .requires_grad = true});
    const Tensor loss = cross_entropy(logits, class_targets({-100, -100, -100, -100}));
    CHECK(loss.item() == 0.0);
    loss.backward();
    for (double g : logits.grad().to_vector()) CHECK(g == 0.0);
}

TEST_CASE("cross_entropy: bad targets are reported with the value and class count") {
    const Tensor logits = ce_logits();
    test::check_throws_with<ValueError>(
        [&] {
            cross_entropy(logits, class_targets({1, 7, 0, 2}));
        },
        {"cross_entropy", "logits [4,5]", "target 7", "[0, 5)"});
    test::check_throws_with<ValueError>(
        [&] {
            cross_entropy(logits, class_targets({1, -1, 0, 2}));
        },
        {"target -1", "[0, 5)"});
    test::check_throws_with<ShapeError>(
        [&] {
            cross_entropy(logits, class_targets({1, 2, 3}));
        },
        {"cross_entropy", "logits [4,5], targets [3]", "([4])"});
    test::check_throws_with<ValueError>([&] { cross_entropy(logits, zeros({4}, {.dtype = f64})); },
                                        {"cross_entropy", "targets [4] f64", "i32"});
}

TEST_CASE("mse_loss: value, float64 gradcheck and shape error") {
    const Tensor p = from({0.5, 1.5, -2.0, 3.0}, {4}, {.dtype = f64});
    const Tensor t = from({1.0, 1.0, -1.0, 0.0}, {4}, {.dtype = f64});
    // torch.nn.functional.mse_loss(p, t)
    test::check_close(mse_loss(p, t), {2.625}, {});
    Tensor a = uniform({3, 4}, -1, 1, {.dtype = f64, .seed = 41, .requires_grad = true});
    Tensor b = uniform({3, 4}, -1, 1, {.dtype = f64, .seed = 42, .requires_grad = true});
    check_gradients(mse_loss, {a, b});
    test::check_throws_with<ShapeError>(
        [&] {
            mse_loss(a, from({1, 2, 3}, {3}, {.dtype = f64}));
        },
        {"mse_loss", "[3,4] and [3]", "shapes differ"});
}
