#include "layers/sequence_transformer.hpp"

#include <fmt/format.h>

#include "autograd/tape.hpp"

namespace tapegrad {

SequenceTransformer::SequenceTransformer(SequenceTransformerOptions options)
    : Module("SequenceTransformer"),
      opt_(options),
      gen_(layer_generator(options.seed)),
      embed_(options.vocab_size, options.width, {.seed = gen_.next_u64()}),
      positions_(options.max_len, options.width, {.seed = gen_.next_u64()}),
      norm_(options.width),
      head_(options.width, {.units = options.classes, .seed = gen_.next_u64()}) {
    if (opt_.heads <= 0 || opt_.width % opt_.heads != 0)
        throw ValueError(fmt::format("SequenceTransformer: width {} must be a positive multiple of heads {}",
                                     opt_.width, opt_.heads));
    register_module("embed", embed_);
    register_module("positions", positions_);
    register_module("blocks", blocks_);
    for (std::int64_t i = 0; i < opt_.layers; ++i)
        blocks_.emplace_back(opt_.width, TransformerBlockOptions{
                                             .num_heads = opt_.heads,
                                             .dff = 4 * opt_.width,
                                             .dropout_rate = opt_.dropout,
                                             .norm_first = true,
                                             .key_dim = opt_.width / opt_.heads,
                                             .layer_norm_epsilon = 1e-5,
                                             .seed = gen_.next_u64()});
    register_module("norm", norm_);
    register_module("head", head_);
}

Tensor SequenceTransformer::operator()(const Tensor& ids) {
    Tensor x = positions_.forward(embed_.forward(ids));  // [B,T,C]
    for (auto& block : blocks_) x = (*block)(x);
    return remember_output(head_.forward(norm_.forward(x)));  // [B,T,classes]
}

// The blocks are pre-LN (norm_first): block i's attention sees self_attention_norm(x), where x is
// the output of block i − 1.
std::vector<Tensor> SequenceTransformer::attention_maps(const Tensor& ids) {
    NoGrad no_grad;
    std::vector<Tensor> maps;
    Tensor x = positions_.forward(embed_.forward(ids));  // [B,T,C]
    for (auto& block : blocks_) {
        const Tensor h = block->self_attention_norm().forward(x);
        maps.push_back(block->self_attention()(h, h, h, {.return_attention_scores = true, .training = false})
                           .scores);
        x = (*block)(x, {.training = false});
    }
    return maps;
}

}  // namespace tapegrad
