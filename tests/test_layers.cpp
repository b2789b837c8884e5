#include <doctest/doctest.h>

#include <cmath>
#include <memory>

#include "autograd/ops.hpp"
#include "layer_fixtures.hpp"
#include "layers/dense.hpp"
#include "layers/dropout.hpp"
#include "layers/embedding.hpp"
#include "layers/layer_norm.hpp"
#include "layers/positional.hpp"
#include "layers/sequential.hpp"
#include "support.hpp"

using namespace tapegrad;
using test::check_gradients;
using test::check_throws_with;

namespace {

// Gradcheck of `layer` in float64 w.r.t. its input and every parameter (perturbed in place).
void check_layer_gradients(Layer& layer, const Tensor& x) {
    layer.to(f64);
    std::vector<Tensor> inputs{x};
    for (const Tensor& p : layer.parameters()) inputs.push_back(p);
    check_gradients([&](const std::vector<Tensor>& xs) { return layer(xs[0]); }, inputs);
}

Tensor input(const Shape& shape, std::uint64_t seed, DType dtype = f64) {
    return uniform(shape, -1.5, 1.5, {.dtype = dtype, .seed = seed, .requires_grad = dtype == f64});
}

std::vector<std::string> names_of(const Module& m) {
    std::vector<std::string> out;
    for (const auto& [name, t] : m.state_dict()) out.push_back(name + fmt::format("{}", t.shape()));
    return out;
}

}  // namespace

TEST_CASE("activation: names parse, unknown names are a clear error") {
    CHECK(parse_activation("relu") == Activation::relu);
    CHECK(parse_activation("linear") == Activation::none);
    CHECK(activation_name(Activation::gelu) == "gelu");
    check_throws_with<ValueError>([] { parse_activation("swish"); },
                                  {"unknown name 'swish'", "relu", "softmax"});
    const Tensor x = from({-1.0, 0.0, 2.0}, {3}, {.dtype = f64});
    test::check_close(activate(Activation::relu, x), {0, 0, 2}, {3});
    test::check_close(activate(Activation::none, x), {-1, 0, 2}, {3});
    const double z = std::exp(-1.0) + 1 + std::exp(2.0);
    test::check_close(activate(Activation::softmax, x),
                      {std::exp(-1.0) / z, 1 / z, std::exp(2.0) / z}, {3}, 1e-12);
    ActivationLayer tanh_layer(parse_activation("tanh"));
    test::check_close(tanh_layer(x), tanh(x), 1e-15);
    for (Activation a : {Activation::gelu, Activation::sigmoid, Activation::softmax}) {
        INFO("activation ", activation_name(a));
        ActivationLayer layer(a);
        check_layer_gradients(layer, input({3, 4}, 21));
    }
}

TEST_CASE("Dense: Keras names, shapes and default initializers") {
    Dense dense(300, {.units = 200, .seed = 3});
    CHECK(names_of(dense) == std::vector<std::string>{"bias[200]", "kernel[300,200]"});
    const double limit = std::sqrt(6.0 / (300 + 200));  // glorot_uniform
    double lo = 1, hi = -1, total = 0;
    for (double v : dense.kernel().to_vector())
        lo = std::min(lo, v), hi = std::max(hi, v), total += v;
    CHECK(lo >= -limit);
    CHECK(hi <= limit);
    CHECK(hi > 0.99 * limit);  // 60,000 draws reach close to the edge
    CHECK(lo < -0.99 * limit);
    CHECK(std::abs(total / 60000) < 0.01 * limit);
    for (double v : dense.bias().to_vector()) CHECK(v == 0.0);
    Dense same(300, {.units = 200, .seed = 3});
    test::check_close(same.kernel(), dense.kernel(), 0, 0);
    Dense no_bias(4, {.units = 2, .use_bias = false});
    CHECK(names_of(no_bias) == std::vector<std::string>{"kernel[4,2]"});
    CHECK(no_bias.parameter_count() == 8);
}

TEST_CASE("Dense: applies to the last axis of a 3-D input") {
    Dense dense(2, {.units = 3, .activation = Activation::relu});
    dense.load_state_dict(
        {{"kernel", from({1, 0, -1, 2, 1, 0}, {2, 3})}, {"bias", from({0.5, -1, 0}, {3})}});
    const Tensor x = from({1, 2, 3, 4, -1, 0, 0, 1}, {2, 2, 2});
    // row (a, b) -> relu(a + 2b + 0.5, b − 1, −a)
    test::check_close(dense(x), {5.5, 1, 0, 11.5, 3, 0, 0, 0, 1, 2.5, 0, 0}, {2, 2, 3});
    CHECK(dense.last_output_shape() == Shape{2, 2, 3});
}

TEST_CASE("Dense: float64 gradcheck w.r.t. input, kernel and bias") {
    Dense dense(4, {.units = 3, .activation = Activation::tanh, .seed = 1});
    check_layer_gradients(dense, input({2, 3, 4}, 5));
    Dense gelu_dense(3, {.units = 2, .activation = Activation::gelu, .seed = 2});
    check_layer_gradients(gelu_dense, input({5, 3}, 6));
}

TEST_CASE("Dense, LayerNorm: match torch in float64 and float32") {
    const test::LayerFixture dense_fx("dense"), ln_fx("layer_norm");
    for (DType dtype : {f64, f32}) {
        INFO("dtype ", dtype_name(dtype));
        const double tol = dtype == f64 ? 1e-10 : 1e-5;
        Dense dense(4, {.units = std::int64_t(dense_fx.number("/units")),
                        .activation = parse_activation(dense_fx.text("/activation")),
                        .dtype = dtype});
        test::check_projected_fixture(
            dense, [&](const Tensor& x) { return dense(x); }, dense_fx, dtype, tol);
        LayerNorm ln(6, {.epsilon = ln_fx.number("/epsilon"), .dtype = dtype});
        test::check_projected_fixture(
            ln, [&](const Tensor& x) { return ln(x); }, ln_fx, dtype, tol);
    }
}

TEST_CASE("Dense: wrong shapes and arguments name the layer and the shapes") {
    Dense dense(4, {.units = 5});
    check_throws_with<ShapeError>(
        [&] {
            dense(zeros({2, 3}));
        },
        {"Dense: input [2,3], kernel [4,5]: input features differ (3 vs 4)"});
    check_throws_with<ValueError>([] { Dense(4, {}); },
                                  {"Dense", "units must be positive (got 0)"});
    check_throws_with<ValueError>(
        [&] {
            dense(ids(std::vector<std::int32_t>{1, 2, 3, 4}, {1, 4}));
        },
        {"Dense", "[1,4]", "i32"});
}

TEST_CASE("LayerNorm: normalises the last axis, passes gradcheck and reports a wrong width") {
    LayerNorm ln(4);
    CHECK(names_of(ln) == std::vector<std::string>{"bias[4]", "weight[4]"});
    const Tensor y = ln(from({1, 2, 3, 4, -2, 0, 2, 4}, {2, 4}, {.dtype = f32}));
    const double s = 1 / std::sqrt(1.25 + 1e-5),
                 t = 1 / std::sqrt(5 + 1e-5);  // biased variances 1.25 and 5
    test::check_close(y, {-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s, -3 * t, -t, t, 3 * t}, {2, 4},
                      1e-6);
    LayerNorm trained(5, {.epsilon = 1e-3});
    trained.to(f64);
    trained.load_state_dict({{"weight", uniform({5}, 0.5, 1.5, {.seed = 1})},
                             {"bias", uniform({5}, -1, 1, {.seed = 2})}});
    check_layer_gradients(trained, input({3, 2, 5}, 8));
    check_throws_with<ShapeError>(
        [&] {
            ln(zeros({3, 5}));
        },
        {"LayerNorm: input [3,5], weight [4]: input features differ (5 vs 4)"});
}

TEST_CASE("Embedding: lookup, GPT-2 init, gradcheck of the table, bad ids") {
    Embedding emb(500, 64, {.seed = 4});
    CHECK(names_of(emb) == std::vector<std::string>{"weight[500,64]"});
    double sq = 0;
    for (double v : emb.weight().to_vector()) sq += v * v;
    CHECK(std::sqrt(sq / (500 * 64)) == doctest::Approx(0.02).epsilon(0.02));
    const Tensor tokens = ids(std::vector<std::int32_t>{3, 0, 3, 499}, {2, 2});
    const Tensor y = emb(tokens);
    CHECK(y.shape() == Shape{2, 2, 64});
    CHECK(y.at({0, 0, 5}) == emb.weight().at({3, 5}));
    CHECK(y.at({1, 1, 63}) == emb.weight().at({499, 63}));
    Embedding keras(10, 3, {.init = EmbeddingInit::uniform, .scale = 0.05});
    for (double v : keras.weight().to_vector()) CHECK(std::abs(v) <= 0.05);
    Embedding small(6, 3, {.seed = 1});
    small.to(f64);
    const Tensor repeated =
        ids(std::vector<std::int32_t>{1, 0, 5, 1}, {2, 2});  // row 1 twice: grads add
    check_gradients([&](const std::vector<Tensor>&) { return small(repeated); }, {small.weight()});
    check_throws_with<ValueError>(
        [&] {
            small(ids(std::vector<std::int32_t>{1, 6}, {2}));
        },
        {"Embedding", "6"});
    check_throws_with<ValueError>([&] { small(zeros({2})); }, {"Embedding", "must be i32", "f32"});
}

TEST_CASE("Dropout: only while training, inverted scaling, reproducible by seed") {
    const Tensor x = ones({100, 100});
    Dropout drop({.rate = 0.25, .seed = 9});
    const std::vector<double> y = drop(x).to_vector();
    std::size_t kept = 0;
    for (double v : y) {
        CHECK((v == 0.0 || std::abs(v - 1 / 0.75) < 1e-6));
        kept += v != 0.0;
    }
    CHECK(double(kept) / 10000 == doctest::Approx(0.75).epsilon(0.03));
    Dropout again({.rate = 0.25, .seed = 9});
    CHECK(again(x).to_vector() == y);
    Dropout other({.rate = 0.25, .seed = 10});
    CHECK(other(x).to_vector() != y);
    CHECK(drop(x).to_vector() != y);  // the layer's generator moves on: a new mask per call
    test::check_close(drop(x, /*training=*/false), x, 0, 0);
    drop.eval();
    test::check_close(drop(x), x, 0, 0);
    CHECK(drop(x, /*training=*/true).to_vector() != x.to_vector());
    check_throws_with<ValueError>([] { Dropout({.rate = 1.0}); },
                                  {"Dropout", "rate must be in [0, 1) (got 1)"});
}

TEST_CASE("Dropout: float64 gradcheck with a fixed mask") {
    const Tensor x = input({4, 5}, 11);
    // a fresh layer per call draws the same mask every time, as gradcheck needs
    check_gradients(
        [](const std::vector<Tensor>& xs) { return Dropout({.rate = 0.4, .seed = 2})(xs[0]); },
        {x});
}

TEST_CASE("positional: sinusoidal table, learned table, gradcheck, length errors") {
    SinusoidalPositionalEncoding sinus(10, 6, f64);
    CHECK(names_of(sinus) == std::vector<std::string>{"pe[10,6]"});
    CHECK(sinus.parameter_count() == 0);
    const Tensor p = sinus.positions(3);
    CHECK(p.shape() == Shape{3, 6});
    CHECK(p.at({1, 0}) == doctest::Approx(std::sin(1.0)));
    CHECK(p.at({1, 1}) == doctest::Approx(std::cos(1.0)));
    CHECK(p.at({2, 2}) == doctest::Approx(std::sin(2 / std::pow(10000.0, 2.0 / 6))));
    CHECK(p.at({2, 5}) == doctest::Approx(std::cos(2 / std::pow(10000.0, 4.0 / 6))));
    const Tensor x = input({2, 3, 6}, 12);
    test::check_close(sinus(x), x + p, 1e-15);
    check_gradients([&](const std::vector<Tensor>& xs) { return sinus(xs[0]); }, {x});
    check_throws_with<ShapeError>(
        [&] {
            sinus(zeros({1, 11, 6}, {.dtype = f64}));
        },
        {"SinusoidalPositionalEncoding: sequence length 11, pe [10,6]",
         "length exceeds max_len (11 vs 10)"});
    LearnedPositionalEmbedding learned(8, 4, {.seed = 5});
    CHECK(names_of(learned) == std::vector<std::string>{"weight[8,4]"});
    check_layer_gradients(learned, input({2, 5, 4}, 13));
    check_throws_with<ShapeError>(
        [&] {
            learned(zeros({2, 5, 3}, {.dtype = f64}));
        },
        {"LearnedPositionalEmbedding: input [2,5,3], weight [8,4]",
         "input features differ (3 vs 4)"});
}

TEST_CASE("Sequential: Keras-style names, forward, summary, gradcheck") {
    Sequential model;
    Dense& first =
        model.add<Dense>(2, DenseOptions{.units = 16, .activation = Activation::relu, .seed = 1});
    model.add<Dropout>(DropoutOptions{.rate = 0.5, .seed = 3});
    model.add<LayerNorm>(16);
    model.add<Dense>(16, DenseOptions{.units = 1, .seed = 2});
    CHECK(model.size() == 4);
    CHECK(names_of(model) == std::vector<std::string>{"dense.bias[16]", "dense.kernel[2,16]",
                                                      "dense_1.bias[1]", "dense_1.kernel[16,1]",
                                                      "layer_norm.bias[16]",
                                                      "layer_norm.weight[16]"});
    model.eval();
    const Tensor x = uniform({5, 2}, -1, 1, {.seed = 4});
    const Tensor y = model(x);
    CHECK(y.shape() == Shape{5, 1});
    test::check_close(y, model[3](model[2](first(x))), 1e-6);
    const std::string summary = model.summary();
    for (const char* part : {"dense (Dense)", "dropout (Dropout)", "layer_norm (LayerNorm)",
                             "dense_1 (Dense)", "[5,16]", "[5,1]", "Total params: 97"})
        CHECK_MESSAGE(summary.find(part) != std::string::npos, summary, "\nmissing: ", part);
    check_throws_with<ShapeError>(
        [&] {
            model(zeros({5, 3}));
        },
        {"Dense 'dense': input [5,3], kernel [2,16]"});
    check_layer_gradients(
        model, input({3, 2}, 14));  // in eval mode: dropout would redraw its mask per call
}

TEST_CASE("Sequential: takes ownership of built layers") {
    Sequential model(std::make_unique<Dense>(3, DenseOptions{.units = 4}),
                     std::make_unique<ActivationLayer>(Activation::tanh),
                     std::make_unique<Dense>(4, DenseOptions{.units = 2}));
    CHECK(model.size() == 3);
    CHECK(model.parameter_count() == 3 * 4 + 4 + 4 * 2 + 2);
    CHECK(model(ones({7, 3})).shape() == Shape{7, 2});
    CHECK(model.summary().find("activation (Activation)") != std::string::npos);
    check_throws_with<ValueError>([] { Sequential()(ones({1})); }, {"Sequential", "no layers"});
}
