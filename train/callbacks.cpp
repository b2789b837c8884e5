#include "train/callbacks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "train/health.hpp"

namespace tapegrad {
namespace {

// Tokens per second for token data, else rows per second, with its unit.
std::pair<double, const char*> throughput(const StepLogs& logs) {
    if (logs.tokens_per_s > 0) return {logs.tokens_per_s, "tok/s"};
    return {logs.samples_per_s, "samples/s"};
}

}  // namespace

void ProgressLogger::on_train_begin(FitRun& run) {
    bar_.emplace(run.end_step(), opt_.quiet);
    overfit_ = OverfitWatch();
}

void ProgressLogger::on_validation_end(FitRun& /*run*/, const StepLogs& logs) {
    if (bar_) bar_->finish();  // the line below starts on a fresh line
    if (opt_.quiet) return;
    const auto [rate, unit] = throughput(logs);
    const double train = logs.train_loss.value_or(logs.loss), val = logs.val_loss.value_or(NAN);
    fmt::print("step {:>6}  loss {:.4f}  val_loss {:.4f}  gap {:+.4f}  {:.0f} {}  {}\n",
               logs.step + 1, train, val, val - train, rate, unit, format_duration(logs.elapsed));
    if (const auto warning = overfit_.observe(train, val)) fmt::print("{}\n", *warning);
    std::fflush(stdout);
}

void ProgressLogger::on_step_end(FitRun& /*run*/, const StepLogs& logs) {
    if (bar_) bar_->update(logs.step + 1, logs.loss, throughput(logs).first);
}

void ProgressLogger::on_train_end(FitRun& /*run*/, const FitResult& result) {
    if (bar_) bar_->finish();
    if (!opt_.quiet && opt_.report_stop && !result.stop_reason.empty())
        fmt::print("stopped after step {}: {}\n", result.end_step, result.stop_reason);
}

void MetricsLogger::on_step_end(FitRun& /*run*/, const StepLogs& logs) {
    std::optional<HealthStats> health;
    if (health_ && health_->latest() && health_->latest()->step == logs.step)
        health = health_->latest();
    log_.append({.step = logs.step,
                 .loss = logs.loss,
                 .val_loss = logs.val_loss,
                 .train_loss = logs.train_loss,
                 .val_tokens = logs.val_tokens > 0 ? std::optional(logs.val_tokens) : std::nullopt,
                 .lr = logs.lr,
                 .grad_norm = logs.grad_norm,
                 .tokens_per_s = logs.tokens_per_s,
                 .elapsed = logs.elapsed,
                 .health = std::move(health)});
}

LrScheduler::LrScheduler(const Schedule& schedule, LrSchedulerOptions options)
    : lr_at_([&schedule](std::int64_t step) { return schedule.lr_at(step); }),
      opt_(options),
      warmup_(schedule.warmup_steps()) {}

void LrScheduler::on_train_begin(FitRun& /*run*/) {
    start_ = std::chrono::steady_clock::now();
    decay_start_.reset();
}

std::int64_t LrScheduler::step_by_time(const FitRun& run) {
    const double now = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (!decay_start_) decay_start_ = now;
    const double span = run.options().time_limit - *decay_start_;
    const double f = span > 0 ? std::clamp((now - *decay_start_) / span, 0.0, 1.0) : 1.0;
    return warmup_ + static_cast<std::int64_t>(static_cast<double>(run.end_step() - warmup_) * f);
}

void LrScheduler::on_step_begin(FitRun& run, std::int64_t step) {
    std::int64_t at = step;
    if (opt_.follow_time_limit && run.options().time_limit > 0 && step >= warmup_)
        at = std::max(at, step_by_time(run));
    run.optimizer().set_lr(lr_at_(at));
}

void EarlyStopping::on_train_begin(FitRun& /*run*/) {
    if (opt_.patience < 0 || !(opt_.min_delta >= 0))
        throw ValueError(fmt::format("EarlyStopping: patience ({}) and min_delta ({}) must be >= 0",
                                     opt_.patience, opt_.min_delta));
    best_ = std::numeric_limits<double>::infinity();
    best_step_ = 0;
    wait_ = 0;
    stopped_step_.reset();
    best_weights_.clear();
}

void EarlyStopping::on_validation_end(FitRun& run, const StepLogs& logs) {
    const double v = logs.val_loss.value_or(NAN);
    if (v < best_ - opt_.min_delta) {
        best_ = v;
        best_step_ = logs.step + 1;
        wait_ = 0;
        if (opt_.restore_best_weights) {
            best_weights_.clear();
            for (const auto& [name, t] : run.model().state_dict())
                best_weights_.emplace(name, t.clone());
        }
        return;
    }
    if (++wait_ < opt_.patience) return;
    stopped_step_ = logs.step + 1;
    if (opt_.restore_best_weights && !best_weights_.empty())
        run.model().load_state_dict(best_weights_);
    run.request_stop(
        fmt::format("EarlyStopping: val_loss has not improved by more than {} for {} "
                    "validations; the best, {:.4f}, was after step {}{}",
                    opt_.min_delta, wait_, best_, best_step_,
                    opt_.restore_best_weights ? " (its weights are restored)" : ""));
}

void NanGuard::on_step_end(FitRun& run, const StepLogs& logs) {
    if (logs.finite() || triggered()) return;
    const bool loss_bad = !std::isfinite(logs.loss);
    message_ = fmt::format(
        "the {} became {} at step {}; lower the learning rate (now {:.3g}) or "
        "clip gradients",
        loss_bad ? "loss" : "gradient norm", loss_bad ? logs.loss : logs.grad_norm, logs.step,
        logs.lr);
    run.request_stop(message_);
}

}  // namespace tapegrad
