#include "train/generate.hpp"

#include <fmt/format.h>

#include <optional>

#include "autograd/ops/shape.hpp"
#include "autograd/tape.hpp"
#include "core/error.hpp"
#include "core/kernels/thread_cap.hpp"

namespace tapegrad {
namespace {

// One cached token's forward pass multiplies about 12·C²·L + V·C pairs; below 2^25 of them
// (bench/generate_bench: small 2758 tok/s on one thread, 520 on two; medium, 1.1e7, 216 and 201)
// splitting it across threads costs more than it saves.
constexpr std::int64_t threaded_token_work = std::int64_t{1} << 25;

std::int64_t token_work(const GptConfig& c) {
    return 12 * c.n_embd * c.n_embd * c.n_layer + c.vocab_size * c.n_embd;
}

// The next-token logits [V] after `ids`: from the cache while the text fits the context (only
// the tokens it has not read yet go in), else from the last n_positions tokens read afresh.
// A single cached token of a small model runs on one thread (threaded_token_work).
Tensor next_logits(Gpt& model, const std::vector<std::int32_t>& ids, KvCache* cache) {
    const auto context = static_cast<std::size_t>(model.config().n_positions);
    const bool cached = cache && ids.size() <= context;
    const std::size_t from = cached                 ? static_cast<std::size_t>(cache->length)
                             : ids.size() > context ? ids.size() - context
                                                    : 0;
    const auto t = static_cast<std::int64_t>(ids.size() - from);
    const Tensor window = tapegrad::ids(std::span(ids).subspan(from), {1, t});
    std::optional<kernels::ThreadCap> one_thread;
    if (cached && t == 1 && token_work(model.config()) < threaded_token_work) one_thread.emplace(1);
    const Tensor logits = cached ? model.forward_cached(window, *cache) : model(window);  // [1,t,V]
    return slice(logits, 1, t - 1, t).view_as_shape({logits.dim(-1)});
}

}  // namespace

std::vector<std::int32_t> generate_tokens(Gpt& model, std::vector<std::int32_t> ids,
                                          std::int64_t tokens, const SamplingOptions& sampling,
                                          Generator& gen, const GenerateOptions& options) {
    if (ids.empty()) throw ValueError("generate: the prompt is empty; give at least one token");
    const bool was_training = model.is_training();
    model.eval();
    NoGrad no_grad;
    KvCache cache;
    for (std::int64_t i = 0; i < tokens; ++i) {
        const Tensor last = next_logits(model, ids, options.kv_cache ? &cache : nullptr);
        ids.push_back(sample_token(last, sampling, gen, ids));
    }
    model.train(was_training);
    return ids;
}

}  // namespace tapegrad
