#include "train/generate.hpp"

#include <fmt/format.h>

#include "autograd/ops/shape.hpp"
#include "autograd/tape.hpp"
#include "core/error.hpp"

namespace tapegrad {

std::vector<std::int32_t> generate_tokens(Gpt& model, std::vector<std::int32_t> ids, std::int64_t tokens,
                                          const SamplingOptions& sampling, Generator& gen) {
    if (ids.empty()) throw ValueError("generate: the prompt is empty; give at least one token");
    const bool was_training = model.is_training();
    model.eval();
    NoGrad no_grad;
    const auto context = static_cast<std::size_t>(model.config().n_positions);
    for (std::int64_t i = 0; i < tokens; ++i) {
        const std::size_t from = ids.size() > context ? ids.size() - context : 0;
        const auto t = static_cast<std::int64_t>(ids.size() - from);
        const Tensor logits = model(tapegrad::ids(std::span(ids).subspan(from), {1, t}));  // [1,t,V]
        const Tensor last = slice(logits, 1, t - 1, t).view_as_shape({logits.dim(-1)});
        ids.push_back(sample_token(last, sampling, gen));
    }
    model.train(was_training);
    return ids;
}

}  // namespace tapegrad
