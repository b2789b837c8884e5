// Toy sequence tasks for transformers: copy, reverse and sort digit sequences. Held-out test
// sequences never appear in training. Exact-sequence accuracy counts a sequence right only if
// every position is.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/random.hpp"
#include "layers/sequence_transformer.hpp"
#include "viz/plot.hpp"

namespace tapegrad {

enum class ToyTask { copy, reverse, sort };
std::string_view task_name(ToyTask task);
ToyTask parse_task(std::string_view name);  // "copy" | "reverse" | "sort", else ValueError

struct ToyBatch {
    Tensor x;  // i32 [B,L] digits
    Tensor y;  // i32 [B,L] the task's answer
};

struct ToyTrainOptions {
    std::int64_t length = 8;
    std::int64_t digits = 10;
    std::int64_t batch = 64;
    std::int64_t max_steps = 4000;
    std::int64_t eval_every = 100;
    double lr = 1e-3;
    std::int64_t warmup = 100;
    double target_accuracy = 0.995;  // stop once the held-out accuracy reaches this
    std::int64_t test_size = 1000;
    std::uint64_t seed = 0;
    bool quiet = false;
    std::int64_t health_every = 0;  // K > 0: parameter health (train/health.hpp) every K steps
    int shards = 1;  // each batch in this many parts side by side (train/sharded_step.hpp)
};

struct ToyResult {
    double accuracy = 0.0;  // exact-sequence accuracy on the held-out set
    std::int64_t steps = 0;
    double seconds = 0.0;
    ToyBatch test;
    Tensor predictions;     // i32 [test_size, L]
    // One row per step: its loss and learning rate, with parameter health every health_every
    // steps (for the HTML report, viz/report.hpp).
    std::vector<MetricsPoint> curve;
};

ToyBatch make_toy_batch(ToyTask task, std::int64_t batch, std::int64_t length, std::int64_t digits, Generator& gen);
// argmax over the last axis of logits [B,L,C] -> i32 [B,L]
Tensor argmax_last(const Tensor& logits);
double exact_accuracy(const Tensor& predictions, const Tensor& targets);
ToyResult train_toy_task(SequenceTransformer& model, ToyTask task, const ToyTrainOptions& options);

}  // namespace tapegrad
