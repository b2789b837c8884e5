#include "layers/sequential.hpp"

#include <fmt/format.h>

#include <cctype>

#include "layers/dropout.hpp"

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

// The input features a factory needs; unknown means the list did not say them.
std::int64_t need_features(std::optional<std::int64_t> in_features, std::string_view what) {
    if (!in_features)
        throw ValueError(
            fmt::format("Sequential: {} needs the size of its input: start the list "
                        "with input(<features>)",
                        what));
    return *in_features;
}

// A layer whose output has as many features as its input (dropout, activations, norms).
template <class L, class... Args>
LayerSpec same_features(Args... args) {
    return LayerSpec([=](std::optional<std::int64_t> in) {
        return BuiltLayer{std::make_unique<L>(args...), in};
    });
}

}  // namespace

LayerSpec LayerSpec::from_layer(std::unique_ptr<Layer> layer) {
    auto held = std::make_shared<std::unique_ptr<Layer>>(std::move(layer));
    return LayerSpec([held](std::optional<std::int64_t>) {
        if (!*held) throw ValueError("Sequential: a layer built by hand can be added only once");
        return BuiltLayer{std::move(*held), std::nullopt};
    });
}

Sequential::Sequential(std::initializer_list<LayerSpec> specs) : Sequential() {
    for (const LayerSpec& spec : specs) add(spec);
}

Layer& Sequential::add(std::unique_ptr<Layer> layer) {
    if (!layer) throw ValueError(fmt::format("{}: add: the layer is null", describe()));
    const std::string base = snake_case(layer->type_name());
    const int n = name_counts_[base]++;
    layers_.push_back(std::move(layer));
    register_module(n == 0 ? base : fmt::format("{}_{}", base, n), *layers_.back());
    features_.reset();
    return *layers_.back();
}

void Sequential::add(const LayerSpec& spec) {
    BuiltLayer built = spec.build(features_);
    if (built.layer) add(std::move(built.layer));
    features_ = built.features;
}

Tensor Sequential::forward(const Tensor& x) {
    if (layers_.empty()) throw ValueError(fmt::format("{}: called with no layers", describe()));
    Tensor y = x;
    for (const auto& layer : layers_) y = (*layer)(y);
    return remember_output(y);
}

namespace layers {

LayerSpec input(std::int64_t features) {
    if (features <= 0)
        throw ValueError(
            fmt::format("Sequential: input features must be positive (got {})", features));
    return LayerSpec([features](std::optional<std::int64_t>) {
        return BuiltLayer{nullptr, features};
    });
}

LayerSpec dense(DenseOptions options) {
    return LayerSpec([options](std::optional<std::int64_t> in) {
        const std::int64_t in_features = need_features(in, fmt::format("dense({})", options.units));
        return BuiltLayer{std::make_unique<Dense>(in_features, options), options.units};
    });
}

LayerSpec dense(std::int64_t units, Activation activation) {
    return dense(DenseOptions{.units = units, .activation = activation});
}

LayerSpec dense(std::int64_t units, std::string_view activation) {
    return dense(units, parse_activation(activation));
}

LayerSpec dropout(double rate, std::optional<std::uint64_t> seed) {
    return same_features<Dropout>(DropoutOptions{.rate = rate, .seed = seed});
}

LayerSpec activation(Activation activation) { return same_features<ActivationLayer>(activation); }

LayerSpec activation(std::string_view name) { return activation(parse_activation(name)); }

LayerSpec layer_norm(LayerNormOptions options) {
    return LayerSpec([options](std::optional<std::int64_t> in) {
        const std::int64_t size = need_features(in, "layer_norm()");
        return BuiltLayer{std::make_unique<LayerNorm>(size, options), size};
    });
}

LayerSpec embedding(std::int64_t input_dim, std::int64_t output_dim, EmbeddingOptions options) {
    return LayerSpec([=](std::optional<std::int64_t>) {
        return BuiltLayer{std::make_unique<Embedding>(input_dim, output_dim, options), output_dim};
    });
}

}  // namespace layers
}  // namespace tapegrad
