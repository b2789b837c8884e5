// Built-in fit() callbacks, after Keras': ProgressLogger (ProgbarLogger), MetricsLogger (CSVLogger,
// as JSON lines), EarlyStopping, LrScheduler (LearningRateScheduler, by step), NanGuard
// (TerminateOnNaN). Checkpoint is in train/fit_checkpoint.hpp. A usual list:
//   ProgressLogger progress;  MetricsLogger metrics("run.jsonl");  LrScheduler lr(schedule);
//   NanGuard nan_guard;  EarlyStopping early({.patience = 5});
//   fit(model, loss, optimizer, data, options, {lr, nan_guard, progress, metrics, early});
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>

#include "optim/schedule.hpp"
#include "train/fit.hpp"
#include "train/metrics.hpp"
#include "train/overfit_watch.hpp"
#include "train/progress.hpp"

namespace tapegrad {

struct ProgressLoggerOptions {
    bool quiet = false;       // neither the bar nor any line
    bool report_stop = true;  // print why a callback stopped the run early
};

// The progress bar of train/progress.hpp on stderr (only when it is a terminal) and, after each
// validation, a line on stdout with the mean training loss since the previous validation, the
// validation loss and the gap between them:
//   step    250  loss 1.8432  val_loss 1.9011  gap +0.0579  23456 tok/s  1m05s
// Rows per second replace tokens per second when the data is not token sequences. When validation
// rises for three evaluations in a row while training falls, it says so once (OverfitWatch).
class ProgressLogger : public Callback {
public:
    explicit ProgressLogger(ProgressLoggerOptions options = {}) : opt_(options) {}
    void on_train_begin(FitRun& run) override;
    void on_validation_end(FitRun& run, const StepLogs& logs) override;
    void on_step_end(FitRun& run, const StepLogs& logs) override;
    void on_train_end(FitRun& run, const FitResult& result) override;

private:
    ProgressLoggerOptions opt_;
    std::optional<ProgressBar> bar_;
    OverfitWatch overfit_;
};

// One JSON line per step (train/metrics.hpp's MetricsRow: step, loss, val_loss, train_loss and
// val_tokens on validation steps, lr, grad_norm, tokens_per_s, elapsed), appended to `path`; an
// empty path logs nothing. With a HealthMonitor (not owned; listed before this logger), the steps
// it measured also carry its "health" object.
class HealthMonitor;  // train/health.hpp
class MetricsLogger : public Callback {
public:
    explicit MetricsLogger(std::string path, const HealthMonitor* health = nullptr)
        : log_(std::move(path)), health_(health) {}
    void on_step_end(FitRun& run, const StepLogs& logs) override;

private:
    MetricsLog log_;
    const HealthMonitor* health_;
};

struct LrSchedulerOptions {
    // With fit's time_limit, the schedule ends at the time limit whenever its steps would end it
    // later: after the W warm-up steps (Schedule::warmup_steps, which stay steps), step s uses
    //   lr_at(max(s, W + ⌊(E − W)·f⌋)),  f = (t − t_W)/(time_limit − t_W) clamped to [0, 1],
    // with E fit's end step, t the seconds since fit began and t_W those when the warm-up ended:
    // the decay runs on whichever budget, steps or seconds, runs out first. The lr then depends on
    // the clock, so such a run is not bit-reproducible.
    bool follow_time_limit = false;
};

// Sets the optimizer's learning rate before each step: lr = schedule.lr_at(step).
class LrScheduler : public Callback {
public:
    explicit LrScheduler(const Schedule& schedule, LrSchedulerOptions options = {});  // keeps a reference
    // A schedule as a function; `warmup_steps` as Schedule::warmup_steps.
    explicit LrScheduler(std::function<double(std::int64_t step)> lr_at, LrSchedulerOptions options = {},
                         std::int64_t warmup_steps = 0)
        : lr_at_(std::move(lr_at)), opt_(options), warmup_(warmup_steps) {}
    void on_train_begin(FitRun& run) override;
    void on_step_begin(FitRun& run, std::int64_t step) override;

private:
    // The step the decay has reached by the clock (follow_time_limit), at `step` >= warmup_.
    std::int64_t step_by_time(const FitRun& run);

    std::function<double(std::int64_t)> lr_at_;
    LrSchedulerOptions opt_;
    std::int64_t warmup_ = 0;
    std::chrono::steady_clock::time_point start_;
    std::optional<double> decay_start_;  // seconds after start_ when the first decay step began
};

struct EarlyStoppingOptions {
    std::int64_t patience = 0;          // validations in a row without improvement before stopping
    double min_delta = 0.0;             // an improvement lowers the best val_loss by more than this
    bool restore_best_weights = false;  // when stopping, load the weights of the best validation
};

// Stops when val_loss has not improved for `patience` validations in a row (Keras' rule:
// improvement means val_loss < best − min_delta; NaN never improves).
class EarlyStopping : public Callback {
public:
    explicit EarlyStopping(EarlyStoppingOptions options = {}) : opt_(options) {}
    void on_train_begin(FitRun& run) override;
    void on_validation_end(FitRun& run, const StepLogs& logs) override;

    double best() const { return best_; }                  // the lowest val_loss seen
    std::int64_t best_step() const { return best_step_; }  // steps done at the best
    std::optional<std::int64_t> stopped_step() const { return stopped_step_; }  // steps done

private:
    EarlyStoppingOptions opt_;
    double best_ = std::numeric_limits<double>::infinity();
    std::int64_t best_step_ = 0;
    std::int64_t wait_ = 0;
    std::optional<std::int64_t> stopped_step_;
    StateDict best_weights_;  // copies, kept only with restore_best_weights
};

// Stops the run at the first step whose loss (or else gradient norm) is NaN or Inf, with the
// message, also FitResult::stop_reason,
//   "the loss became nan at step 12; lower the learning rate (now 0.001) or clip gradients"
// That step's update has already spoiled the weights; Checkpoint never saves such a step, so the
// newest checkpoint is the one to resume from.
class NanGuard : public Callback {
public:
    void on_train_begin(FitRun& /*run*/) override { message_.clear(); }
    void on_step_end(FitRun& run, const StepLogs& logs) override;
    bool triggered() const { return !message_.empty(); }
    const std::string& message() const { return message_; }

private:
    std::string message_;
};

}  // namespace tapegrad
