#include "viz/ticks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace tapegrad::viz {
namespace {

// 1, 2, 5 or 10 times a power of ten near x: the closest one when `round`, else the next above.
double nice(double x, bool round) {
    const double e = std::floor(std::log10(x));
    const double f = x / std::pow(10.0, e);
    double n;
    if (round)
        n = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
    else
        n = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    return n * std::pow(10.0, e);
}

}  // namespace

Axis Axis::linear(double lo, double hi, int target_ticks, bool integer) {
    if (!(hi > lo)) {
        const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
        lo -= pad;
        hi += pad;
    }
    double step = nice(nice(hi - lo, false) / std::max(1, target_ticks - 1), true);
    if (integer) step = std::max(step, 1.0);
    Axis a;
    a.lo_ = std::floor(lo / step) * step;
    a.hi_ = std::ceil(hi / step) * step;
    const auto count = static_cast<std::int64_t>(std::llround((a.hi_ - a.lo_) / step));
    for (std::int64_t i = 0; i <= count; ++i)
        a.ticks_.push_back(a.lo_ + static_cast<double>(i) * step);
    a.decimals_ = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
    return a;
}

Axis Axis::logarithmic(double lo, double hi) {
    const double e0 = std::floor(std::log10(lo) + 1e-12);
    double e1 = std::ceil(std::log10(hi) - 1e-12);
    if (e1 <= e0) e1 = e0 + 1;
    Axis a;
    a.log_ = true;
    a.lo_ = std::pow(10.0, e0);
    a.hi_ = std::pow(10.0, e1);
    const std::vector<double> mantissas =
        e1 - e0 <= 2 ? std::vector<double>{1, 2, 5} : std::vector<double>{1};
    for (double e = e0; e <= e1; ++e)
        for (double m : mantissas)
            if (m * std::pow(10.0, e) <= a.hi_ * (1 + 1e-12))
                a.ticks_.push_back(m * std::pow(10.0, e));
    a.decimals_ = std::max(0, static_cast<int>(-e0));
    return a;
}

double Axis::fraction(double v) const {
    if (log_) return (std::log10(v) - std::log10(lo_)) / (std::log10(hi_) - std::log10(lo_));
    return (v - lo_) / (hi_ - lo_);
}

std::string Axis::label(double v) const {
    if (std::abs(v) < 1e-9 * (hi_ - lo_)) v = 0;  // no "-0.0" from rounding noise
    return fmt::format("{:.{}f}", v, decimals_);
}

}  // namespace tapegrad::viz
