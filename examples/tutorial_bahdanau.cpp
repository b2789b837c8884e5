// Tutorial step 2 (docs/tutorial.md): Bahdanau attention, keras.layers.AdditiveAttention, on the
// query and values of step 1; then with Bahdanau's two projections in front.
#include <fmt/format.h>

#include <tapegrad/core/format.hpp>
#include <tapegrad/layers/additive_attention.hpp>
#include <tapegrad/layers/dense.hpp>

using namespace tapegrad;

int main() {
    const Tensor query = from({1, 0}, {1, 1, 2});              // [1,1,2]
    const Tensor value = from({1, 0, 0, 1, 1, 1}, {1, 3, 2});  // [1,3,2]
    // [tutorial:additive]
    AdditiveAttention additive(2, {.use_scale = false});  // scores = Σ_d tanh(q_d + k_d)
    const AttentionResult r = additive(query, value, Tensor(), {.return_attention_scores = true});
    fmt::print("weights: {}\noutput:  {}\n", r.scores, r.output);
    // [/tutorial:additive]
    // [tutorial:bahdanau]
    Dense w1(2, {.units = 4, .use_bias = false, .seed = 1});       // W₁ q
    Dense w2(2, {.units = 4, .use_bias = false, .seed = 2});       // W₂ k
    AdditiveAttention bahdanau(4, {.seed = 3});                    // learned v = scale [4]
    const Tensor context = bahdanau(w1(query), value, w2(value));  // query, value, key
    fmt::print("Bahdanau context: {}\n", context);
    // [/tutorial:bahdanau]
}
