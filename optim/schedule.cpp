#include "optim/schedule.hpp"

#include <fmt/format.h>

#include <cmath>
#include <numbers>
#include <string_view>

#include "core/error.hpp"

namespace tapegrad {
namespace {

void expect_step(std::string_view schedule, std::int64_t step) {
    if (step < 0)
        throw ValueError(fmt::format("{}: lr_at: step must be >= 0 ({})", schedule, step));
}

void expect_lr(std::string_view schedule, std::string_view what, double lr) {
    if (!(lr >= 0.0)) throw ValueError(fmt::format("{}: {} must be >= 0 ({})", schedule, what, lr));
}

}  // namespace

ConstantSchedule::ConstantSchedule(double lr) : lr_(lr) { expect_lr("ConstantSchedule", "lr", lr); }

double ConstantSchedule::lr_at(std::int64_t step) const {
    expect_step("ConstantSchedule", step);
    return lr_;
}

StepDecaySchedule::StepDecaySchedule(StepDecayOptions options) : opt_(options) {
    expect_lr("StepDecaySchedule", "lr", opt_.lr);
    expect_lr("StepDecaySchedule", "gamma", opt_.gamma);
    if (opt_.step_size <= 0)
        throw ValueError(
            fmt::format("StepDecaySchedule: step_size must be > 0 ({})", opt_.step_size));
}

double StepDecaySchedule::lr_at(std::int64_t step) const {
    expect_step("StepDecaySchedule", step);
    return opt_.lr * std::pow(opt_.gamma, static_cast<double>(step / opt_.step_size));
}

WarmupCosineSchedule::WarmupCosineSchedule(WarmupCosineOptions options) : opt_(options) {
    expect_lr("WarmupCosineSchedule", "lr", opt_.lr);
    expect_lr("WarmupCosineSchedule", "min_lr", opt_.min_lr);
    if (opt_.warmup_steps < 0 || opt_.decay_steps <= opt_.warmup_steps)
        throw ValueError(
            fmt::format("WarmupCosineSchedule: need 0 <= warmup_steps < decay_steps "
                        "({} and {})",
                        opt_.warmup_steps, opt_.decay_steps));
}

double WarmupCosineSchedule::lr_at(std::int64_t step) const {
    expect_step("WarmupCosineSchedule", step);
    if (step < opt_.warmup_steps)
        return opt_.lr * static_cast<double>(step + 1) / static_cast<double>(opt_.warmup_steps);
    if (step >= opt_.decay_steps) return opt_.min_lr;
    const double r = static_cast<double>(step - opt_.warmup_steps) /
                     static_cast<double>(opt_.decay_steps - opt_.warmup_steps);
    return opt_.min_lr + (opt_.lr - opt_.min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * r));
}

}  // namespace tapegrad
