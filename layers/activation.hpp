// Activations by name, as Keras' `activation=` argument: "relu", "gelu", "tanh", "sigmoid",
// "softmax" (over the last axis), "linear"/"none" (identity). gelu is the tanh approximation
// (GPT-2; Keras gelu(approximate=True)).
#pragma once

#include <string_view>

#include "layers/layer.hpp"

namespace tapegrad {

enum class Activation { none, relu, gelu, tanh, sigmoid, softmax };

Tensor activate(Activation activation, const Tensor& x);
// "relu" -> Activation::relu; an unknown name is a ValueError listing the valid ones.
Activation parse_activation(std::string_view name);
std::string_view activation_name(Activation activation);

// keras.layers.Activation: y = activation(x), any shape, no parameters.
//   ActivationLayer act(Activation::relu);  or  ActivationLayer act(parse_activation("relu"));
class ActivationLayer : public Layer {
public:
    explicit ActivationLayer(Activation activation)
        : Layer("Activation"), activation_(activation) {}
    Tensor forward(const Tensor& x) override { return remember_output(activate(activation_, x)); }
    Activation activation() const { return activation_; }

private:
    Activation activation_;
};

}  // namespace tapegrad
