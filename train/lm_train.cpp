#include "train/lm_train.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "optim/schedule.hpp"
#include "train/callbacks.hpp"
#include "train/distributed.hpp"
#include "train/fit.hpp"
#include "train/generate.hpp"
#include "train/health.hpp"

namespace tapegrad {
namespace {

// train_language_model's StepCallback as a fit() callback; it never sees a spoiled step.
class StepFunction : public Callback {
public:
    explicit StepFunction(const StepCallback& on_step) : on_step_(on_step) {}
    void on_step_end(FitRun& run, const StepLogs& logs) override {
        if (on_step_ && logs.finite() && !on_step_(logs.step, logs.loss))
            run.request_stop("stopped by on_step");
    }

private:
    const StepCallback& on_step_;
};

BatchLoss gpt_loss(Gpt& model) {
    return [&model](const Batch& b) { return model.loss(b.x, b.y); };
}

TokenSource validation_source(const TokenData& data, std::int64_t block_size) {
    return TokenSource(data, block_size, {.sampling = WindowSampling::sequential});
}

}  // namespace

double evaluate_language_model(Gpt& model, const TokenData& data, std::int64_t batch,
                               std::int64_t block_size, std::int64_t batches) {
    return evaluate(model, gpt_loss(model), validation_source(data, block_size),
                    {.batch_size = batch, .batches = batches});
}

LmTrainResult train_language_model(Gpt& model, Optimizer& optimizer, const TokenData& train,
                                   const TokenData& val, const LmTrainOptions& options,
                                   const StepCallback& on_step) {
    if (options.steps <= options.first_step)
        return {};  // fit() would read steps = 0 as "one epoch"
    const WarmupCosineSchedule schedule({.lr = options.lr,
                                         .warmup_steps = options.warmup,
                                         .decay_steps = std::max(options.steps, options.warmup + 1),
                                         .min_lr = options.min_lr});
    const TokenSource train_source(train, options.block_size,
                                   {.sampling = options.sampling, .seed = options.seed});
    const TokenSource val_source = validation_source(val, options.block_size);
    LrScheduler lr(schedule, {.follow_time_limit = true});
    NanGuard nan_guard;
    const bool root = !options.data_parallel || options.data_parallel->is_root();
    ProgressLogger progress({.quiet = options.quiet || !root, .report_stop = false});
    HealthMonitor health({.every = std::max<std::int64_t>(options.health_every, 1)}, &model);
    MetricsLogger metrics(root ? options.metrics_path : "",
                          options.health_every > 0 ? &health : nullptr);
    StepFunction user(on_step);
    Callbacks callbacks{lr, nan_guard, progress};
    if (options.health_every > 0 && root && !options.metrics_path.empty())
        callbacks.push_back(health);
    callbacks.push_back(metrics);
    callbacks.push_back(user);
    const FitResult r = fit(model, gpt_loss(model), optimizer, train_source,
                            {.batch_size = options.batch,
                             .steps = options.steps,
                             .initial_step = options.first_step,
                             .validation_data = &val_source,
                             .validation_every = options.eval_every,
                             .validation_batches = options.eval_batches,
                             .grad_clip = options.grad_clip,
                             .time_limit = options.time_limit,
                             .data_parallel = options.data_parallel,
                             .precision = options.precision,
                             .shards = options.shards},
                            callbacks);
    if (nan_guard.triggered()) throw ValueError(fmt::format("train: {}", nan_guard.message()));
    return {.steps = r.steps,
            .seconds = r.seconds,
            .last_loss = r.last_loss,
            .val_loss = r.val_loss,
            .val_curve = r.val_curve};
}

std::string generate(Gpt& model, const CharTokenizer& tokenizer, const std::string& prompt,
                     std::int64_t tokens, const SamplingOptions& sampling, Generator& gen) {
    const std::string start = prompt.empty() ? std::string(1, tokenizer.vocabulary()[0]) : prompt;
    return tokenizer.decode(generate_tokens(model, tokenizer.encode(start), tokens, sampling, gen));
}

}  // namespace tapegrad
