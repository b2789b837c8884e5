// The suite's cases for the single-input layers: activations, Dense, LayerNorm, Embedding,
// Dropout, the positional layers and Sequential.
#include <fmt/format.h>

#include <memory>

#include "check/gradcheck_suite_cases.hpp"
#include "layers/dense.hpp"
#include "layers/dropout.hpp"
#include "layers/embedding.hpp"
#include "layers/layer_norm.hpp"
#include "layers/positional.hpp"
#include "layers/sequential.hpp"

namespace tapegrad::detail {
namespace {

constexpr double layer_bound = 0.8;  // parameter values: uniform(−layer_bound, layer_bound)

// layer(x) w.r.t. x and every parameter.
void add_layer(SuiteBuilder& suite, std::string name, std::shared_ptr<Layer> layer, const Tensor& x,
               double param_bound = layer_bound) {
    suite.add_module(std::move(name), *layer, param_bound,
                     [layer](const std::vector<Tensor>& v) { return (*layer)(v[0]); }, {x});
}

void add_activation_and_dense_cases(SuiteBuilder& suite) {
    for (const Activation a : {Activation::none, Activation::relu, Activation::gelu,
                               Activation::tanh, Activation::sigmoid, Activation::softmax})
        add_layer(suite, fmt::format("ActivationLayer/{}", activation_name(a)),
                  std::make_shared<ActivationLayer>(a), grad_input({3, 4}, 21, -1.5, 1.5));
    add_layer(suite, "Dense/tanh, 3-D input",
              std::make_shared<Dense>(
                  4, DenseOptions{.units = 3, .activation = Activation::tanh, .seed = 1}),
              grad_input({2, 3, 4}, 5, -1.5, 1.5));
    add_layer(suite, "Dense/gelu",
              std::make_shared<Dense>(
                  3, DenseOptions{.units = 2, .activation = Activation::gelu, .seed = 2}),
              grad_input({5, 3}, 6, -1.5, 1.5));
    add_layer(suite, "Dense/no bias",
              std::make_shared<Dense>(3, DenseOptions{.units = 4, .use_bias = false, .seed = 3}),
              grad_input({2, 3}, 7, -1.5, 1.5));
}

void add_table_layer_cases(SuiteBuilder& suite) {
    auto table = std::make_shared<Embedding>(6, 3, EmbeddingOptions{.seed = 1});
    static const std::int32_t repeated[] = {1, 0, 5, 1};  // row 1 twice: its gradients add
    const Tensor tokens = ids(repeated, {2, 2});
    suite.add_module("Embedding/repeated ids", *table, layer_bound,
                     [table, tokens](const std::vector<Tensor>&) { return (*table)(tokens); }, {});
    add_layer(suite, "SinusoidalPositionalEncoding/[B,T,C]",
              std::make_shared<SinusoidalPositionalEncoding>(10, 6),
              grad_input({2, 3, 6}, 12, -1.5, 1.5));
    add_layer(
        suite, "LearnedPositionalEmbedding/[B,T,C]",
        std::make_shared<LearnedPositionalEmbedding>(8, 4, LearnedPositionalOptions{.seed = 5}),
        grad_input({2, 5, 4}, 13, -1.5, 1.5));
}

}  // namespace

void add_basic_layer_cases(SuiteBuilder& suite) {
    add_activation_and_dense_cases(suite);
    add_layer(suite, "LayerNorm/epsilon 1e-3",
              std::make_shared<LayerNorm>(5, LayerNormOptions{.epsilon = 1e-3}),
              grad_input({3, 2, 5}, 8, -1.5, 1.5));
    add_table_layer_cases(suite);
    suite.add("Dropout/rate 0.4, seeded",
              [](const std::vector<Tensor>& v) {
                  // a fresh layer per call draws the same mask every time, as gradcheck needs
                  return Dropout({.rate = 0.4, .seed = 2})(v[0]);
              },
              {grad_input({4, 5}, 11, -1.5, 1.5)});
    auto model = std::make_shared<Sequential>();
    model->add<Dense>(2, DenseOptions{.units = 6, .activation = Activation::relu, .seed = 1});
    model->add<Dropout>(DropoutOptions{.rate = 0.5, .seed = 3});
    model->add<LayerNorm>(6);
    model->add<Dense>(6, DenseOptions{.units = 1, .seed = 2});
    model->eval();  // dropout would redraw its mask for every evaluation
    add_layer(suite, "Sequential/Dense, Dropout (eval), LayerNorm, Dense", model,
              grad_input({3, 2}, 14, -1.5, 1.5));
}

}  // namespace tapegrad::detail
