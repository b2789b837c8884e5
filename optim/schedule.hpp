// Learning-rate schedules: the lr to use at a step (0-based), set on the optimizer before step():
//     opt.set_lr(schedule.lr_at(step)); opt.step();
#pragma once

#include <cstdint>

namespace tapegrad {

class Schedule {
public:
    virtual ~Schedule() = default;
    virtual double lr_at(std::int64_t step) const = 0;  // step >= 0
    // Steps of linear warm-up at the start (0 for none): a schedule that follows a time limit
    // (train/callbacks.hpp's LrScheduler) still warms up by steps.
    virtual std::int64_t warmup_steps() const { return 0; }
};

class ConstantSchedule : public Schedule {
public:
    explicit ConstantSchedule(double lr);
    double lr_at(std::int64_t step) const override;

private:
    double lr_;
};

// lr·gamma^⌊step / step_size⌋, torch's StepLR.
struct StepDecayOptions {
    double lr = 1e-3;
    std::int64_t step_size = 1;
    double gamma = 0.1;
};

class StepDecaySchedule : public Schedule {
public:
    explicit StepDecaySchedule(StepDecayOptions options);
    double lr_at(std::int64_t step) const override;

private:
    StepDecayOptions opt_;
};

// Linear warm-up to lr, then half a cosine down to min_lr, then min_lr (nanoGPT's get_lr):
//   step < warmup_steps:      lr·(step + 1)/warmup_steps
//   step < decay_steps:       min_lr + (lr − min_lr)·(1 + cos(π·r))/2,
//                             r = (step − warmup_steps)/(decay_steps − warmup_steps)
//   otherwise:                min_lr
struct WarmupCosineOptions {
    double lr = 1e-3;  // the peak
    std::int64_t warmup_steps = 0;
    std::int64_t decay_steps = 1;  // where the cosine reaches min_lr; > warmup_steps
    double min_lr = 0.0;
};

class WarmupCosineSchedule : public Schedule {
public:
    explicit WarmupCosineSchedule(WarmupCosineOptions options);
    double lr_at(std::int64_t step) const override;
    std::int64_t warmup_steps() const override { return opt_.warmup_steps; }

private:
    WarmupCosineOptions opt_;
};

}  // namespace tapegrad
