// Chart axes: a value range widened to round numbers, with tick positions and labels
// (the "nice numbers" rule: steps of 1, 2 or 5 times a power of ten).
#pragma once

#include <string>
#include <vector>

namespace tapegrad::viz {

class Axis {
public:
    // lo..hi widened to round numbers with about `target_ticks` ticks; `integer` keeps the step
    // at 1 or more (for training steps). An empty range (lo == hi) is widened around the value.
    static Axis linear(double lo, double hi, int target_ticks = 6, bool integer = false);
    // Powers of ten covering lo..hi (lo > 0), with 2 and 5 in between when it spans few decades.
    static Axis logarithmic(double lo, double hi);

    double lo() const { return lo_; }
    double hi() const { return hi_; }
    const std::vector<double>& ticks() const { return ticks_; }
    // Where v sits between lo (0) and hi (1).
    double fraction(double v) const;
    std::string label(double v) const;

private:
    double lo_ = 0, hi_ = 1;
    std::vector<double> ticks_;
    bool log_ = false;
    int decimals_ = 0;
};

}  // namespace tapegrad::viz
