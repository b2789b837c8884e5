// embedding, layer_norm and dropout: values against torch 1.13 (float64, the call that produced
// each list is named above it), error messages; and for every fused kernel a tensor large enough
// for the multi-threaded path agreeing with the same rows done one at a time. Their float64
// gradchecks are check/gradcheck_suite's (test_gradcheck_suite.cpp).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "autograd/ops.hpp"
#include "autograd/tape.hpp"
#include "core/kernels/parallel.hpp"
#include "support.hpp"

using namespace tapegrad;

namespace {

// Row r of a [rows, n] tensor as a new [1, n] tensor (a serial-path input).
Tensor row_of(const Tensor& x, std::int64_t r) {
    const std::int64_t n = x.shape().back();
    const std::vector<double> all = x.to_vector();
    const std::vector<double> row(all.begin() + r * n, all.begin() + (r + 1) * n);
    return from(row, {1, n}, {.dtype = x.dtype()});
}

// Checks that rows `picks` of big_out equal f(row_of(big_in, r)).
template <class F>
void check_rows_agree(const Tensor& big_in, const Tensor& big_out, F f, double atol) {
    for (std::int64_t r : {0L, 17L, big_in.shape()[0] - 1}) {
        INFO("row ", r);
        test::check_close(row_of(big_out, r), f(row_of(big_in, r)), atol);
    }
}

Tensor vocab_weight() {
    return from({0.1, 0.2, 1.0, -1.0, 2.0, 0.5, -0.3, 0.4, 0.0, 3.0}, {5, 2},
                {.dtype = f64, .requires_grad = true});
}

}  // namespace

TEST_CASE("embedding: lookup and scatter-add of repeated ids match torch") {
    Tensor w = vocab_weight();
    const std::int32_t token_ids[] = {3, 1, 3, 0, 3, 4};
    // torch.nn.functional.embedding(ids, W)
    const Tensor y = embedding(w, ids(token_ids, {2, 3}));
    test::check_close(y, {-0.3, 0.4, 1.0, -1.0, -0.3, 0.4, 0.1, 0.2, -0.3, 0.4, 0.0, 3.0},
                      {2, 3, 2});
    // .backward(torch.arange(12.).reshape(2, 3, 2)): id 3 appears three times, id 2 never
    y.backward(arange(12, {.dtype = f64}).view_as_shape({2, 3, 2}));
    test::check_close(w.grad(), {6, 7, 2, 3, 0, 0, 12, 15, 10, 11}, {5, 2});
}

TEST_CASE("embedding: ids outside the vocabulary and wrong dtypes are reported") {
    const Tensor w = vocab_weight();
    const std::int32_t bad[] = {0, 7};
    test::check_throws_with<ValueError>([&] { embedding(w, ids(bad, {2})); },
                                        {"embedding: id 7 is outside the vocabulary [0, 5)"});
    const std::int32_t negative[] = {-1};
    test::check_throws_with<ValueError>([&] { embedding(w, ids(negative, {1})); },
                                        {"id -1", "[0, 5)"});
    test::check_throws_with<ValueError>([&] { embedding(w, zeros({2}, {.dtype = f32})); },
                                        {"embedding", "ids [2] f32", "i32"});
    test::check_throws_with<ShapeError>(
        [&] {
            embedding(from({1, 2}, {2}), ids(bad, {2}));
        },
        {"embedding", "weight [2]", "rank 2"});
}

TEST_CASE("layer_norm: values and gradients match torch") {
    const Tensor x0 = from({1.0, 2.0, 4.0, -1.0, 0.5, 0.5, 3.0, 2.0, 10.0, 10.1, 9.9, 10.3}, {3, 4},
                           {.dtype = f64});
    Tensor x = x0.clone().requires_grad(true);
    Tensor w = from({1.5, -0.5, 2.0, 1.0}, {4}, {.dtype = f64, .requires_grad = true});
    Tensor b = from({0.1, 0.2, -0.3, 0.0}, {4}, {.dtype = f64, .requires_grad = true});
    // torch.nn.functional.layer_norm(x, (4,), w, b, 1e-5)
    const Tensor y = layer_norm(x, w, b, 1e-5);
    test::check_close(
        y,
        {-0.3160245071317106, 0.061325164289429634, 2.4734967142114064, -1.3867483571057027,
         -1.3142072770213868, 0.6714024256737956, 2.528414554042774, 0.47140242567379564,
         -0.6604650285383636, 0.11550388571795295, -2.6658911998971577, 1.5209300570767792},
        {3, 4}, 1e-12);
    // .backward(dy) with dy below
    y.backward(from({0.2, -0.1, 0.4, 1.0, -0.3, 0.5, 0.0, 0.7, 1.2, -0.8, 0.3, 0.1}, {3, 4},
                    {.dtype = f64}));
    test::check_close(
        x.grad(),
        {-0.1450751717154342, -0.2570818518452197, 0.21227896644806077, 0.18987805711259298,
         -0.20427633988836225, -0.015715369618844066, -0.32997876482708066, 0.549970474334287,
         6.064956183737252, -1.796329089826969, -3.648950313363315, -0.6196767805469108},
        {3, 4}, 1e-9, 1e-9);
    test::check_close(
        w.grad(),
        {-0.3810005017106416, -0.634331175667185, 0.1998156628577076, -0.9046736534263677}, {4},
        1e-12);
    test::check_close(b.grad(), {1.1, -0.4, 0.7, 1.8}, {4}, 1e-12);
    // torch.nn.functional.layer_norm(x, (4,), None, None, 1e-3): weight and bias left out
    test::check_close(
        layer_norm(x0, Tensor(), Tensor(), 1e-3),
        {-0.27730743871097585, 0.2773074387109762, 1.3865371935548803, -1.3865371935548798,
         -0.9423902944854217, -0.9423902944854217, 1.4135854417281326, 0.47119514724271094,
         -0.49588470368045456, 0.16529490122682808, -1.1570643085877372, 1.487654111041405},
        {3, 4}, 1e-12);
}

TEST_CASE("layer_norm: float32 keeps its precision next to a large mean") {
    const Tensor x = uniform({4, 64}, 999, 1001, {.dtype = f64, .seed = 61});
    test::check_close(layer_norm(x.to(f32), Tensor(), Tensor()), layer_norm(x, Tensor(), Tensor()),
                      2e-4);
}

TEST_CASE("layer_norm: parameters that do not fit x are reported") {
    const Tensor x = zeros({2, 4}, {.dtype = f64});
    test::check_throws_with<ShapeError>([&] { layer_norm(x, ones({3}, {.dtype = f64}), Tensor()); },
                                        {"layer_norm", "x [2,4], weight [3]", "(4)"});
    test::check_throws_with<ShapeError>(
        [&] {
            layer_norm(x, Tensor(), zeros({4, 1}, {.dtype = f64}));
        },
        {"layer_norm", "bias [4,1]"});
    test::check_throws_with<ValueError>([&] { layer_norm(x, ones({4}), Tensor()); },
                                        {"layer_norm", "weight [4] f32", "dtypes differ"});
}

TEST_CASE("dropout: inverted scaling, saved mask and reproducible draws") {
    const Tensor x = uniform({200, 500}, 1, 2, {.dtype = f64, .seed = 71, .requires_grad = true});
    Generator gen(3);
    CHECK(dropout(x, 0.0, gen).shares_storage(x));  // rate 0 is the identity, nothing recorded
    const Tensor y = dropout(x, 0.25, gen);
    sum(y).backward();
    const std::vector<double> xs = x.to_vector(), ys = y.to_vector(), gs = x.grad().to_vector();
    std::size_t kept = 0, bad = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
        const bool on = ys[i] != 0.0;
        kept += on;
        bad += on ? std::abs(ys[i] - xs[i] / 0.75) > 1e-12 || gs[i] != 1 / 0.75 : gs[i] != 0.0;
    }
    CHECK(bad == 0);  // kept: x/(1 − rate) with gradient 1/(1 − rate); dropped: 0 and 0
    CHECK(static_cast<double>(kept) / xs.size() == doctest::Approx(0.75).epsilon(0.01));
    Generator again(3);
    test::check_close(dropout(x, 0.25, again), ys, {200, 500}, 0);  // same seed, same mask
    CHECK(dropout(x, 0.25, again).to_vector() != ys);               // the generator moved on
}

TEST_CASE("dropout: a rate outside 0 to 1 (exclusive) is reported") {
    Generator gen(1);
    const Tensor x = ones({3});
    for (double rate : {1.0, -0.1, 1.5}) {
        INFO("rate ", rate);
        test::check_throws_with<ValueError>(
            [&] { dropout(x, rate, gen); },
            {"dropout", "x [3]", "[0, 1)", fmt::format("got {}", rate)});
    }
}

namespace {

// For a row-wise op f(x, r) (r = -1: the whole tensor, else row r alone): a tensor above the
// parallel threshold gives, row by row, the output and input gradient of the serial path.
template <class F>
void check_rowwise(const Tensor& x, F f, double atol = 1e-12) {
    REQUIRE(x.numel() > kernels::parallel_threshold);
    Tensor big = x.clone().requires_grad(true);
    const Tensor dy = uniform(x.shape(), -1, 1, {.dtype = x.dtype(), .seed = 99});
    const Tensor y = f(big, -1);
    y.backward(dy);
    const std::int64_t rows = x.numel() / x.shape().back();
    for (std::int64_t r : {0L, 37L, rows - 1}) {
        INFO("row ", r);
        Tensor one = row_of(x, r).requires_grad(true);
        const Tensor y1 = f(one, r);
        y1.backward(row_of(dy, r));
        test::check_close(row_of(y, r), y1, atol);
        test::check_close(row_of(big.grad(), r), one.grad(), atol);
    }
}

}  // namespace

TEST_CASE("softmax family: the multi-threaded path matches row-at-a-time results") {
    const Tensor x = uniform({64, 1024}, -5, 5, {.dtype = f64, .seed = 81});
    check_rowwise(x, [](const Tensor& t, std::int64_t) { return softmax(t); });
    check_rowwise(x, [](const Tensor& t, std::int64_t) { return log_softmax(t); });
    // [B=4, Tq=128, Tk=128] causal with a padding mask == an explicit [Tk] mask for each row
    std::vector<std::uint8_t> pad(4 * 128);
    for (std::size_t k = 0; k < pad.size(); ++k) pad[k] = (k * 7) % 5 != 0;
    const Tensor padding = mask(pad, {4, 1, 128});
    check_rowwise(x.view_as_shape({4, 128, 128}), [&](const Tensor& t, std::int64_t r) {
        if (r < 0) return masked_softmax(t, padding, 0.25, true);
        std::vector<std::uint8_t> keep(128);
        for (std::int64_t j = 0; j < 128; ++j) keep[j] = pad[(r / 128) * 128 + j] && j <= r % 128;
        return masked_softmax(t, mask(keep, {1, 128}), 0.25);
    });
}

TEST_CASE("layer_norm: the multi-threaded path matches row-at-a-time results") {
    const Tensor x = uniform({300, 128}, -3, 3, {.dtype = f64, .seed = 82});
    const Tensor dy = uniform({300, 128}, -1, 1, {.dtype = f64, .seed = 83});
    Tensor w = uniform({128}, 0.5, 1.5, {.dtype = f64, .seed = 84, .requires_grad = true});
    Tensor b = zeros({128}, {.dtype = f64, .requires_grad = true});
    check_rowwise(x, [&](const Tensor& t, std::int64_t) { return layer_norm(t, w, b); });
    Tensor w1 = w.detach().clone().requires_grad(true), b1 = b.detach().clone().requires_grad(true);
    w.zero_grad();
    b.zero_grad();
    layer_norm(x, w, b).backward(dy);
    for (std::int64_t r = 0; r < 300; ++r) layer_norm(row_of(x, r), w1, b1).backward(row_of(dy, r));
    test::check_close(w.grad(), w1.grad(), 1e-11);  // Σ over rows, split across threads
    test::check_close(b.grad(), b1.grad(), 1e-11);
}

TEST_CASE("cross_entropy and embedding: the multi-threaded path matches simple loops") {
    const Tensor logits =
        uniform({64, 1024}, -4, 4, {.dtype = f64, .seed = 85, .requires_grad = true});
    std::vector<std::int32_t> t(64);
    for (std::size_t r = 0; r < t.size(); ++r)
        t[r] = r % 9 == 0 ? -100 : static_cast<std::int32_t>(r * 37 % 1024);
    cross_entropy(logits, ids(t, {64})).backward();
    const std::vector<double> lp = log_softmax(logits.detach()).to_vector(),
                              g = logits.grad().to_vector();
    double total = 0, worst = 0;
    for (std::size_t r = 0; r < 64; ++r) {
        if (t[r] == -100) continue;
        total += -lp[r * 1024 + t[r]];
        for (std::size_t c = 0; c < 1024; ++c)  // (softmax − onehot) / 56 kept rows
            worst = std::max(
                worst, std::abs(g[r * 1024 + c] -
                                (std::exp(lp[r * 1024 + c]) - (c == std::size_t(t[r]))) / 56));
    }
    CHECK(worst < 1e-15);
    CHECK(cross_entropy(logits, ids(t, {64})).item() == doctest::Approx(total / 56).epsilon(1e-12));

    Tensor w = uniform({50, 1024}, -1, 1, {.dtype = f64, .seed = 86, .requires_grad = true});
    std::vector<std::int32_t> tok(64);
    for (std::size_t i = 0; i < tok.size(); ++i)
        tok[i] = static_cast<std::int32_t>(i * i % 7);  // many repeats
    const Tensor dy = uniform({64, 1024}, -1, 1, {.dtype = f64, .seed = 87});
    embedding(w, ids(tok, {64})).backward(dy);
    std::vector<double> expect(50 * 1024, 0.0);
    const std::vector<double> dys = dy.to_vector();
    for (std::size_t i = 0; i < 64; ++i)
        for (std::size_t c = 0; c < 1024; ++c) expect[tok[i] * 1024 + c] += dys[i * 1024 + c];
    test::check_close(w.grad(), expect, {50, 1024}, 1e-12);
}
