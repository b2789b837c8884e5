// Sequential: keras.Sequential / torch.nn.Sequential of single-input layers, y = ... l2(l1(x)).
// The model owns its layers; each is registered under a Keras-style name made from its type,
// numbered from the second of a kind: "dense", "dropout", "dense_1" (state dict "dense_1.kernel").
//   Sequential model;
//   model.add<Dense>(2, DenseOptions{.units = 16, .activation = Activation::relu});
//   model.add<Dropout>(DropoutOptions{.rate = 0.1});
//   model.add<Dense>(16, DenseOptions{.units = 1});
//   Tensor y = model(x);  fmt::print("{}", model.summary());
#pragma once

#include <concepts>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "layers/layer.hpp"

namespace tapegrad {

class Sequential : public Layer {
public:
    Sequential() : Layer("Sequential") {}
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

    Tensor forward(const Tensor& x) override;
    std::size_t size() const { return layers_.size(); }
    Layer& operator[](std::size_t i) { return *layers_[i]; }

private:
    std::vector<std::unique_ptr<Layer>> layers_;
    std::map<std::string, int> name_counts_;
};

}  // namespace tapegrad
