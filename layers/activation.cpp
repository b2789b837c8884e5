#include "layers/activation.hpp"

#include <fmt/format.h>

#include <array>
#include <string>
#include <utility>

#include "autograd/ops/softmax.hpp"
#include "autograd/ops/unary.hpp"

namespace tapegrad {
namespace {

constexpr std::array<std::pair<std::string_view, Activation>, 7> names{{
    {"none", Activation::none},
    {"linear", Activation::none},  // Keras' name for the identity
    {"relu", Activation::relu},
    {"gelu", Activation::gelu},
    {"tanh", Activation::tanh},
    {"sigmoid", Activation::sigmoid},
    {"softmax", Activation::softmax},
}};

}  // namespace

Tensor activate(Activation activation, const Tensor& x) {
    switch (activation) {
        case Activation::none:
            return x;
        case Activation::relu:
            return relu(x);
        case Activation::gelu:
            return gelu(x);
        case Activation::tanh:
            return tanh(x);
        case Activation::sigmoid:
            return sigmoid(x);
        case Activation::softmax:
            return softmax(x, -1);
    }
    throw ValueError(fmt::format("activate: unknown activation {}", static_cast<int>(activation)));
}

Activation parse_activation(std::string_view name) {
    for (const auto& [key, value] : names)
        if (key == name) return value;
    std::string valid;
    for (const auto& [key, value] : names) valid += (valid.empty() ? "" : ", ") + std::string(key);
    throw ValueError(fmt::format("activation: unknown name '{}' (valid: {})", name, valid));
}

std::string_view activation_name(Activation activation) {
    for (const auto& [key, value] : names)
        if (value == activation && key != "linear") return key;
    return "?";
}

}  // namespace tapegrad
