// Layer: a module with one input and one output, the unit Sequential chains. Dense, Dropout,
// LayerNorm, Embedding, the positional layers and ActivationLayer derive from it; the checks
// every such layer makes on its input live here so their messages read the same.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "autograd/tape.hpp"
#include "core/random.hpp"
#include "layers/module.hpp"

namespace tapegrad {

class Layer : public Module {
public:
    explicit Layer(std::string type_name) : Module(std::move(type_name)) {}
    // The layer's computation; it ends with remember_output so summary() can show shapes.
    virtual Tensor forward(const Tensor& x) = 0;
    // The ops it records are the layer's, for the fault locator's report (autograd/locate.hpp).
    Tensor operator()(const Tensor& x) {
        const TapeScope scope(path().empty() ? type_name() : path());
        return forward(x);
    }

protected:
    // "Dense 'h.0.fc': input [2,3], kernel [4,8]: input features differ (3 vs 4)" unless x is
    // floating point with last axis `size`; `against` names the parameter compared with.
    void expect_features(const Tensor& x, std::int64_t size, std::string_view against,
                         const Shape& against_shape) const;
    // Throws a ValueError "<layer>: <what> must be ... (got ...)" when `ok` is false.
    void expect_argument(bool ok, std::string_view what) const;
};

// A layer's own generator: seeded by `seed`, or else by one draw from the global generator, so
// manual_seed still makes unseeded layers reproducible.
Generator layer_generator(std::optional<std::uint64_t> seed);

}  // namespace tapegrad
