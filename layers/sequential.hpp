// Sequential: keras.Sequential / torch.nn.Sequential of single-input layers, y = ... l2(l1(x)).
// The model owns its layers; each is registered under a Keras-style name made from its type,
// numbered from the second of a kind: "dense", "dropout", "dense_1" (state dict "dense_1.kernel").
// Keras' list form, with the layer factories of namespace tapegrad::layers:
//   using namespace tapegrad::layers;
//   Sequential model{input(16), dense(64, "relu"), dropout(0.1), dense(10)};
// Layers are built at once, in order (parameters exist before the first call, unlike Keras' lazy
// build), so each factory learns its input features from the layer before it; input(n) states
// the features of the model's input, as keras.Input(shape=(n,)) does. The same, layer by layer:
//   Sequential model;
//   model.add<Dense>(16, DenseOptions{.units = 64, .activation = Activation::relu});
//   model.add<Dropout>(DropoutOptions{.rate = 0.1});
//   model.add<Dense>(64, DenseOptions{.units = 10});
//   Tensor y = model(x);  fmt::print("{}", model.summary());
// Layers taking several inputs (Attention(query, value)) do not fit in a Sequential: compose them
// in a Module's operator(), the counterpart of Keras' functional API (docs/training.md).
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "layers/activation.hpp"
#include "layers/dense.hpp"
#include "layers/embedding.hpp"
#include "layers/layer.hpp"
#include "layers/layer_norm.hpp"

namespace tapegrad {

// A layer made by a factory and the size of the last axis of its output (unset when unknown).
struct BuiltLayer {
    std::unique_ptr<Layer> layer;  // null for input(n), which only states a size
    std::optional<std::int64_t> features;
};

// One entry of Sequential's list: builds its layer given the features of the layer before it
// (unset when unknown). Copyable, so it can sit in an initializer_list; a spec made from an
// already built layer hands that layer over once.
class LayerSpec {
public:
    using Build = std::function<BuiltLayer(std::optional<std::int64_t> in_features)>;
    explicit LayerSpec(Build build) : build_(std::move(build)) {}
    // A layer built by hand; the features after it are unknown, so a dense() after it needs
    // input() or a Dense built by hand as well.
    template <std::derived_from<Layer> L>
    LayerSpec(std::unique_ptr<L> layer)
        : LayerSpec(from_layer(std::unique_ptr<Layer>(std::move(layer)))) {}

    BuiltLayer build(std::optional<std::int64_t> in_features) const { return build_(in_features); }

private:
    static LayerSpec from_layer(std::unique_ptr<Layer> layer);
    Build build_;
};

class Sequential : public Layer {
public:
    Sequential() : Layer("Sequential") {}
    // Builds the listed layers in order: Sequential{input(16), dense(64, "relu"), dense(10)}.
    Sequential(std::initializer_list<LayerSpec> specs);
    // Takes ownership of already built layers, in order.
    template <std::derived_from<Layer>... L>
    explicit Sequential(std::unique_ptr<L>... layers) : Sequential() {
        (add(std::move(layers)), ...);
    }

    // Builds a layer in place and appends it; returns it for further configuration.
    template <std::derived_from<Layer> L, class... Args>
    L& add(Args&&... args) {
        auto layer = std::make_unique<L>(std::forward<Args>(args)...);
        L& ref = *layer;
        add(std::unique_ptr<Layer>(std::move(layer)));
        return ref;
    }
    Layer& add(std::unique_ptr<Layer> layer);
    // Takes ownership of a built layer; returns it with its own type.
    template <std::derived_from<Layer> L>
    L& add(std::unique_ptr<L> layer) {
        L* raw = layer.get();
        add(std::unique_ptr<Layer>(std::move(layer)));  // throws on null before raw is used
        return *raw;
    }
    // Appends what a factory builds for the features of the last layer added through a spec.
    void add(const LayerSpec& spec);

    Tensor forward(const Tensor& x) override;
    std::size_t size() const { return layers_.size(); }
    Layer& operator[](std::size_t i) { return *layers_[i]; }

private:
    std::vector<std::unique_ptr<Layer>> layers_;
    std::map<std::string, int> name_counts_;
    std::optional<std::int64_t> features_;  // last axis of the output so far, when known
};

// Layer factories for Sequential's list, named after keras.layers (lower case: the classes
// Dense, Dropout... and the ops dropout, layer_norm, embedding already use the other names).
namespace layers {

LayerSpec input(std::int64_t features);  // keras.Input(shape=(features,)): no layer, a size
LayerSpec dense(std::int64_t units, std::string_view activation = "linear");  // Dense(64, "relu")
LayerSpec dense(std::int64_t units, Activation activation);
LayerSpec dense(DenseOptions options);  // every option: dense({.units = 8, .seed = 1})
LayerSpec dropout(double rate, std::optional<std::uint64_t> seed = std::nullopt);
LayerSpec activation(std::string_view name);
LayerSpec activation(Activation activation);
LayerSpec layer_norm(LayerNormOptions options = {});
LayerSpec embedding(std::int64_t input_dim, std::int64_t output_dim, EmbeddingOptions options = {});

}  // namespace layers
}  // namespace tapegrad
