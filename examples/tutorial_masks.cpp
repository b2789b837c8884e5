// Tutorial step 5 (docs/tutorial.md): masks. 1 (true) = may attend, as in Keras; the combined mask
// of a padded sequence in a causal layer, what each layer does with a row that keeps no key, the
// same mask inside MultiHeadAttention, and a PyTorch mask converted.
#include <fmt/format.h>

#include <vector>

#include <tapegrad/core/format.hpp>
#include <tapegrad/layers/masks.hpp>
#include <tapegrad/layers/multi_head_attention.hpp>
#include <tapegrad/viz/heatmap.hpp>

using namespace tapegrad;

int main() {
    // [tutorial:masks]
    // One sequence of 4 tokens whose last one is padding, in a causal layer.
    const Tensor pad = padding_mask(std::vector<std::int64_t>{3}, 4);  // [1,4]: 1 1 1 0
    const MaskParts parts{.tq = 4,
                          .tv = 4,
                          .query_mask = pad.view_as_shape({4}),
                          .value_mask = pad.view_as_shape({4}),
                          .causal = true};
    fmt::print("{}{}", mask_text(combine_masks(parts)), explain_mask(parts));
    // [/tutorial:masks]
    // [tutorial:masks_in_layer]
    const Tensor x = uniform({1, 4, 8}, -1, 1, {.seed = 1});
    MultiHeadAttention mha(8, {.num_heads = 1, .key_dim = 8, .seed = 2});
    const AttentionResult r = mha(x, x, x,
                                  {.query_mask = pad,
                                   .value_mask = pad,
                                   .use_causal_mask = true,
                                   .return_attention_scores = true});
    fmt::print("MultiHeadAttention's weights: {}\n", r.scores);
    // [/tutorial:masks_in_layer]
    // [tutorial:from_pytorch]
    // PyTorch's key_padding_mask marks padding with true: invert it before passing it here.
    const Tensor torch_key_padding = mask(std::vector<std::uint8_t>{0, 0, 0, 1}, {1, 4});
    const Tensor value_mask = invert_mask(torch_key_padding);  // [1,4]: 1 1 1 0
    // [/tutorial:from_pytorch]
    fmt::print("converted key padding mask: {}\n", value_mask);
}
