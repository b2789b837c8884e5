#include "train/lm_train.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "autograd/ops/shape.hpp"
#include "autograd/tape.hpp"
#include "optim/clip.hpp"
#include "optim/schedule.hpp"
#include "train/metrics.hpp"
#include "train/progress.hpp"

namespace tapegrad {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

double evaluate_language_model(Gpt& model, const TokenData& data, std::int64_t batch, std::int64_t block_size,
                               std::int64_t batches) {
    const bool was_training = model.is_training();
    model.eval();
    NoGrad no_grad;
    const std::int64_t n = std::min(batches, data.batches_per_epoch(batch, block_size));
    double total = 0.0;
    for (std::int64_t i = 0; i < n; ++i) {
        const Batch b = data.batch(i, batch, block_size);
        total += model.loss(b.x, b.y).item();
    }
    model.train(was_training);
    return total / static_cast<double>(n);
}

LmTrainResult train_language_model(Gpt& model, Optimizer& optimizer, const TokenData& train, const TokenData& val,
                                   const LmTrainOptions& options, const StepCallback& on_step) {
    const WarmupCosineSchedule schedule({.lr = options.lr, .warmup_steps = options.warmup,
                                         .decay_steps = std::max(options.steps, options.warmup + 1),
                                         .min_lr = options.min_lr});
    const MetricsLog metrics(options.metrics_path);
    const std::vector<Tensor> params = model.parameters();
    const double tokens_per_step = static_cast<double>(options.batch * options.block_size);
    train.batches_per_epoch(options.batch, options.block_size);  // fail early on short data
    ProgressBar progress(options.steps, options.quiet);
    LmTrainResult result;
    const auto start = std::chrono::steady_clock::now();
    model.train();
    for (std::int64_t step = options.first_step; step < options.steps; ++step) {
        const auto step_start = std::chrono::steady_clock::now();
        const Batch b = train.batch(step, options.batch, options.block_size);
        optimizer.zero_grad();
        const Tensor loss = model.loss(b.x, b.y);
        loss.backward();
        const double grad_norm = options.grad_clip > 0 ? clip_grad_norm(params, options.grad_clip) : 0.0;
        optimizer.set_lr(schedule.lr_at(step));
        optimizer.step();
        result.last_loss = loss.item();
        if (!std::isfinite(result.last_loss))
            throw ValueError(fmt::format("train: the loss became {} at step {}; lower the learning rate "
                                         "(now {:.3g}) or clip gradients", result.last_loss, step, optimizer.lr()));
        ++result.steps;
        const double tok_s = tokens_per_step / std::max(seconds_since(step_start), 1e-9);
        MetricsRow row{.step = step, .loss = result.last_loss, .lr = optimizer.lr(), .grad_norm = grad_norm,
                       .tokens_per_s = tok_s, .elapsed = seconds_since(start)};
        const bool last = step + 1 == options.steps ||
                          (options.time_limit > 0 && row.elapsed >= options.time_limit);
        if (last || (options.eval_every > 0 && (step + 1) % options.eval_every == 0)) {
            row.val_loss = evaluate_language_model(model, val, options.batch, options.block_size, options.eval_batches);
            result.val_curve.emplace_back(step + 1, *row.val_loss);
            result.val_loss = *row.val_loss;
            if (progress.enabled()) progress.finish();
            if (!options.quiet)
                fmt::print("step {:>6}  loss {:.4f}  val_loss {:.4f}  {:.0f} tok/s  {}\n", step + 1, result.last_loss,
                           *row.val_loss, tok_s, format_duration(row.elapsed));
        }
        metrics.append(row);
        progress.update(step + 1, result.last_loss, tok_s);
        if ((on_step && !on_step(step, result.last_loss)) || last) break;
    }
    progress.finish();
    result.seconds = seconds_since(start);
    return result;
}

std::string generate(Gpt& model, const CharTokenizer& tokenizer, const std::string& prompt, std::int64_t tokens,
                     const SamplingOptions& sampling, Generator& gen) {
    const bool was_training = model.is_training();
    model.eval();
    NoGrad no_grad;
    std::vector<std::int32_t> ids = tokenizer.encode(prompt.empty() ? std::string(1, tokenizer.vocabulary()[0]) : prompt);
    const auto context = static_cast<std::size_t>(model.config().n_positions);
    for (std::int64_t i = 0; i < tokens; ++i) {
        const std::size_t from = ids.size() > context ? ids.size() - context : 0;
        const auto t = static_cast<std::int64_t>(ids.size() - from);
        const Tensor x = tapegrad::ids(std::span(ids).subspan(from), {1, t});
        const Tensor logits = model(x);  // [1,t,V]
        const Tensor last = slice(logits, 1, t - 1, t).view_as_shape({logits.dim(-1)});
        ids.push_back(sample_token(last, sampling, gen));
    }
    model.train(was_training);
    return tokenizer.decode(ids);
}

}  // namespace tapegrad
