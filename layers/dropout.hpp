// Dropout: keras.layers.Dropout / torch.nn.Dropout. While training, each element is zeroed with
// probability `rate` and the survivors scaled by 1/(1 − rate) (inverted dropout), so evaluation is
// the identity. Active when the module is in training mode (the default; eval() turns it off),
// or as a call-time `training` argument says (Keras' `training=`). Any shape, no parameters.
// The layer owns a Generator seeded by `seed` (unset: one draw from the global generator), so a
// seeded Dropout draws the same masks run after run.
//   Dropout drop({.rate = 0.1, .seed = 42});  y = drop(x);  y = drop(x, /*training=*/false);
#pragma once

#include <cstdint>
#include <optional>

#include "core/random.hpp"
#include "layers/layer.hpp"

namespace tapegrad {

struct DropoutOptions {
    double rate = 0.0;  // in [0, 1)
    std::optional<std::uint64_t> seed;
};

class Dropout : public Layer {
public:
    explicit Dropout(DropoutOptions options = {});
    Tensor forward(const Tensor& x) override { return (*this)(x, std::nullopt); }
    Tensor operator()(const Tensor& x, std::optional<bool> training = std::nullopt);
    double rate() const { return opt_.rate; }
    // The masks' random source, for ops that fuse this dropout (GPT's attention weights).
    Generator& generator() { return gen_; }

private:
    DropoutOptions opt_;
    Generator gen_;
};

}  // namespace tapegrad
