// Tutorial step 1 (docs/tutorial.md): Luong attention, keras.layers.Attention. One query looks at
// three keys; the weights are the softmax of the dot products, the output their weighted values.
#include <fmt/format.h>

#include <tapegrad/core/format.hpp>
#include <tapegrad/layers/attention.hpp>

using namespace tapegrad;

int main() {
    // [tutorial:luong]
    const Tensor query = from({1, 0}, {1, 1, 2});              // [B=1, Tq=1, D=2]
    const Tensor value = from({1, 0, 0, 1, 1, 1}, {1, 3, 2});  // [B=1, Tv=3, D=2]
    Attention attention;  // scores = query · keyᵀ, and the key defaults to the value
    const AttentionResult r = attention(query, value, Tensor(), {.return_attention_scores = true});
    fmt::print("weights: {}\noutput:  {}\n", r.scores, r.output);
    // [/tutorial:luong]
}
