// Training and using a GPT language model: the loop (warm-up + cosine schedule, gradient clipping,
// periodic validation, progress bar, JSONL metrics, NaN guard: fit() with its built-in callbacks,
// train/fit.hpp), evaluation, and text generation.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/precision.hpp"
#include "io/tokenizer.hpp"
#include "layers/gpt.hpp"
#include "optim/optimizer.hpp"
#include "train/data.hpp"
#include "train/sample.hpp"

namespace tapegrad {

class DataParallel;  // train/distributed.hpp

struct LmTrainOptions {
    std::int64_t batch = 16;
    std::int64_t block_size = 128;  // T
    std::int64_t steps = 1000;
    std::int64_t first_step = 0;  // > 0 when resuming: the data rule and schedule continue
    // Training batches (train/data.hpp): random windows keyed by (seed, step), or llm.c's
    // sequential order. Validation always reads non-overlapping windows in order.
    WindowSampling sampling = WindowSampling::random;
    std::uint64_t seed = 0;
    double lr = 1e-3;
    double min_lr = 1e-4;
    std::int64_t warmup = 100;
    double grad_clip = 1.0;          // 0 = no clipping
    std::int64_t eval_every = 100;   // 0 = only at the end
    std::int64_t eval_batches = 16;  // spread over the validation set; 0 = all of it, once
    // Seconds; 0 = no limit. Stops after the step that crosses it, and the cosine ends there
    // whenever `steps` would end it later (LrScheduler's follow_time_limit).
    double time_limit = 0.0;
    std::string metrics_path;  // JSON lines; empty = none
    std::int64_t health_every = 0;  // K > 0: training-health numbers every K steps in the metrics
    bool quiet = false;        // no progress bar (it is also off when stderr is no terminal)
    // Data-parallel across ranks (not owned; FitOptions::data_parallel): `batch` is the global
    // batch; only rank 0 shows progress and writes metrics.
    DataParallel* data_parallel = nullptr;
    Precision precision = Precision::fp32;  // FitOptions::precision
    int shards = 1;                         // FitOptions::shards
};

struct LmTrainResult {
    std::int64_t steps = 0;  // steps run in this call
    double seconds = 0.0;
    double last_loss = 0.0;
    std::optional<double> val_loss;  // at the end; none when no validation ran (--stop-at early)
    std::vector<std::pair<std::int64_t, double>> val_curve;  // (step, validation loss)
};

// Called after every step with (step, loss); return false to stop early.
using StepCallback = std::function<bool(std::int64_t step, double loss)>;

LmTrainResult train_language_model(Gpt& model, Optimizer& optimizer, const TokenData& train,
                                   const TokenData& val, const LmTrainOptions& options,
                                   const StepCallback& on_step = {});
// Mean loss over `batches` non-overlapping windows of `data`, spread evenly over it (fewer if data
// is short; 0 = all of it once).
double evaluate_language_model(Gpt& model, const TokenData& data, std::int64_t batch,
                               std::int64_t block_size, std::int64_t batches);
// Continues `prompt` by `tokens` characters, cropping the context to the model's n_positions.
std::string generate(Gpt& model, const CharTokenizer& tokenizer, const std::string& prompt,
                     std::int64_t tokens, const SamplingOptions& sampling, Generator& gen);

}  // namespace tapegrad
