// Sequential's brace list: the layer factories of tapegrad::layers, sizes, names, summary.
#include <doctest/doctest.h>

#include "layers/sequential.hpp"
#include "support.hpp"

using namespace tapegrad;
using namespace tapegrad::layers;

TEST_CASE("Sequential: a brace list of factories builds each layer for the size before it") {
    Sequential model{input(4), dense({.units = 8, .activation = Activation::relu, .seed = 1}),
                     dropout(0.1, 2), dense({.units = 3, .seed = 3})};
    CHECK(model.size() == 3);
    CHECK(model.parameter_count() == 4 * 8 + 8 + 8 * 3 + 3);
    CHECK(model(ones({5, 4})).shape() == Shape{5, 3});
    const std::string expected = fmt::format(
        "Model: \"Sequential\"\n{0}\n"
        "Layer (type)                                Output Shape               Param #\n{0}\n"
        "dense (Dense)                               [5,8]                           40\n"
        "dropout (Dropout)                           [5,8]                            0\n"
        "dense_1 (Dense)                             [5,3]                           27\n"
        "{0}\nTotal params: 67\nTrainable params: 67\nNon-trainable params: 0\n",
        std::string(78, '-'));
    CHECK(model.summary() == expected);

    Sequential keras_style{input(3), dense(16, "relu"), activation("tanh"), layer_norm(), dense(2)};
    CHECK(keras_style.parameter_count() == 3 * 16 + 16 + 2 * 16 + 16 * 2 + 2);
    Sequential tokens{embedding(10, 6), layer_norm(), dense(2, Activation::softmax)};
    CHECK(tokens(ids(std::vector<std::int32_t>{1, 2, 3, 4, 5, 6}, {2, 3})).shape() ==
          Shape{2, 3, 2});
}

TEST_CASE("summary: frozen parameters count as non-trainable") {
    Sequential model{input(4), dense({.units = 8, .seed = 1}), dense({.units = 3, .seed = 3})};
    for (auto [name, t] : model.named_parameters())
        if (name.starts_with("dense.")) t.requires_grad(false);  // the first layer: 4·8 + 8
    const std::string summary = model.summary();
    for (const char* part :
         {"Total params: 67\n", "Trainable params: 27\n", "Non-trainable params: 40\n"})
        CHECK_MESSAGE(summary.find(part) != std::string::npos, summary, "\nmissing: ", part);
}

TEST_CASE("Sequential: brace list errors name the factory and the fix") {
    test::check_throws_with<ValueError>(
        [] { Sequential{dense(8)}; },
        {"dense(8) needs the size of its input", "input(<features>)"});
    test::check_throws_with<ValueError>([] { dense(8, "swish"); }, {"swish"});
    test::check_throws_with<ValueError>(
        [] {
            Sequential{std::make_unique<Dense>(3, DenseOptions{.units = 4}), dense(2)};
        },
        {"dense(2) needs the size of its input"});
    Sequential built{std::make_unique<Dense>(3, DenseOptions{.units = 4}),
                     activation(Activation::tanh)};
    CHECK(built(ones({1, 3})).shape() == Shape{1, 4});
}
