// Inputs and masks shared by the attention layer tests (test_attention.cpp, test_mha.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "core/error.hpp"
#include "core/tensor.hpp"
#include "layers/attention_core.hpp"
#include "support.hpp"

namespace tapegrad::test {

inline Tensor attention_input(const Shape& shape, std::uint64_t seed) {
    return uniform(shape, -1, 1, {.dtype = f64, .seed = seed, .requires_grad = true});
}

// Masks for query [2,3,·] and value [2,5,·]: batch 1 pads its last two values and its middle
// query; the attention_mask [3,5] keeps key 0 in every row.
inline AttentionCall attention_call(bool value_mask, bool query_mask, bool causal,
                                    bool attention_mask) {
    static const std::uint8_t values[] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
    static const std::uint8_t queries[] = {1, 1, 1, 1, 0, 1};
    static const std::uint8_t pairs[] = {1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1};
    AttentionCall call{.use_causal_mask = causal};
    if (value_mask) call.value_mask = mask(values, {2, 5});
    if (query_mask) call.query_mask = mask(queries, {2, 3});
    if (attention_mask) call.attention_mask = mask(pairs, {3, 5});
    return call;
}

struct MaskCase {
    const char* name;
    bool value_mask, query_mask, causal, attention_mask;
};

inline constexpr MaskCase attention_mask_cases[] = {
    {"no mask", false, false, false, false},         {"value_mask", true, false, false, false},
    {"query+value masks", true, true, false, false}, {"causal", false, false, true, false},
    {"causal+value_mask", true, false, true, false}, {"attention_mask", false, false, false, true},
};

inline Tensor ones_mask(const Shape& shape) { return ones(shape, {.dtype = b8}); }

// A call with one wrong shape: query [2,3,4], value [2,5,4] and no key unless the case replaces
// them, and the end of the message the layer must throw.
struct ShapeErrorCase {
    Shape query{2, 3, 4}, value{2, 5, 4};
    std::optional<Shape> key;
    AttentionCall call;
    const char* message;
};

// Checks that layer(query, value, key, call) throws a ShapeError with `prefix + message` for
// every case.
template <class Layer>
void check_shape_errors(Layer& layer, std::span<const ShapeErrorCase> cases,
                        const std::string& prefix) {
    for (const ShapeErrorCase& c : cases) {
        const Tensor key = c.key ? zeros(*c.key) : Tensor{};
        check_throws_with<ShapeError>([&] { layer(zeros(c.query), zeros(c.value), key, c.call); },
                                      {prefix + c.message});
    }
}

}  // namespace tapegrad::test
