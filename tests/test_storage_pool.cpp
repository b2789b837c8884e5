// The storage pool: after its first steps a training loop gets every buffer from the pool and
// none from the system (issue #7: no per-step allocation of tensor memory).
#include <doctest/doctest.h>

#include <cmath>

#include "core/storage.hpp"
#include "layers/gpt.hpp"
#include "optim/adam.hpp"
#include "optim/clip.hpp"
#include "train/data.hpp"

using namespace tapegrad;

namespace {

TokenData counting_tokens(std::int64_t n, std::int64_t vocab) {
    std::vector<std::int32_t> tokens(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<std::int32_t>((i * 7 + i / 5) % vocab);
    return TokenData(std::move(tokens));
}

}  // namespace

TEST_CASE("storage pool: a freed buffer is handed out again instead of a new one") {
    const std::size_t before = storage_system_allocations();
    { Storage first(12345); }
    const std::size_t after_first = storage_system_allocations();
    CHECK(after_first <= before + 1);  // 1 unless an earlier test left a buffer of this size
    { Storage again(12345); }
    CHECK(storage_system_allocations() == after_first);
    { Storage other_size(12347); }  // the pool is keyed by exact size
    CHECK(storage_system_allocations() == after_first + 1);
}

TEST_CASE("storage pool: GPT training steps after warm-up allocate no new tensor memory") {
    Gpt model({.vocab_size = 13, .n_positions = 16, .n_embd = 32, .n_layer = 2, .n_head = 4,
               .dropout = 0.1, .seed = 3});
    AdamW optimizer(param_groups_for_weight_decay(model.named_parameters(), 0.1), {.lr = 1e-3});
    const TokenData data = counting_tokens(4 * 16 * 6 + 1, 13);
    auto step = [&](std::int64_t s) {
        const Batch b = data.batch(s, 4, 16);
        optimizer.zero_grad();
        const Tensor loss = model.loss(b.x, b.y);
        loss.backward();
        clip_grad_norm(model.parameters(), 1.0);
        optimizer.step();
        return loss.item();
    };
    for (std::int64_t s = 0; s < 2; ++s) step(s);  // warm-up: activations, gradients, Adam's moments
    const std::size_t warm = storage_system_allocations();
    double last = 0;
    for (std::int64_t s = 2; s < 8; ++s) last = step(s);
    CHECK(std::isfinite(last));
    CHECK(storage_system_allocations() == warm);
}
