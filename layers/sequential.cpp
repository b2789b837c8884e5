#include "layers/sequential.hpp"

#include <fmt/format.h>

#include <cctype>

namespace tapegrad {
namespace {

// "LayerNorm" -> "layer_norm", as Keras derives default layer names from class names.
std::string snake_case(const std::string& type_name) {
    std::string out;
    for (std::size_t i = 0; i < type_name.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(type_name[i]);
        if (std::isupper(c) && i > 0) out += '_';
        out += static_cast<char>(std::tolower(c));
    }
    return out;
}

}  // namespace

Layer& Sequential::add(std::unique_ptr<Layer> layer) {
    if (!layer) throw ValueError(fmt::format("{}: add: the layer is null", describe()));
    const std::string base = snake_case(layer->type_name());
    const int n = name_counts_[base]++;
    layers_.push_back(std::move(layer));
    register_module(n == 0 ? base : fmt::format("{}_{}", base, n), *layers_.back());
    return *layers_.back();
}

Tensor Sequential::forward(const Tensor& x) {
    if (layers_.empty()) throw ValueError(fmt::format("{}: called with no layers", describe()));
    Tensor y = x;
    for (const auto& layer : layers_) y = (*layer)(y);
    return remember_output(y);
}

}  // namespace tapegrad
