// Loss curves from the training metrics log (train/metrics.hpp writes one JSON object per line):
// train loss for every row, validation loss for the rows that have one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "viz/health.hpp"

namespace tapegrad {

struct MetricsPoint {
    std::int64_t step = 0;
    double loss =
        std::numeric_limits<double>::quiet_NaN();  // NaN when the log says null (diverged)
    std::optional<double> val_loss;                // only on validation steps
    std::optional<double> lr;                      // the learning rate, when the log has it
    std::optional<HealthStats> health;             // on the steps a HealthMonitor measured
};

struct PlotOptions {
    bool log_step = false;            // logarithmic step axis; every step must then be > 0
    std::string title;                // drawn above the plot when not empty
    std::string step_label = "step";  // the x axis' name
    std::string value_label = "loss";  // the y axis' name
    // Several runs as plain named lines (charts of other values than losses: each run's `loss`
    // is its value): full colour, named by the label alone, no validation curves.
    bool series = false;
    double width = 640, height = 400;
};

// An SVG line chart: step on x, loss on y, axes with round-number ticks and labels, a legend, one
// polyline point per row with a finite loss and one validation point per row with a finite
// val_loss (also marked with a dot, as they are usually sparse). Rows are drawn in the given order.
std::string loss_curve_svg(const std::vector<MetricsPoint>& points,
                           const PlotOptions& options = {});

// Several runs on one chart (fp32 against bf16, two learning rates): one colour per run, its train
// loss thin and pale, its validation loss thick with dots, the legend naming each by `label`.
struct LossRun {
    std::string label;
    std::vector<MetricsPoint> points;
};
std::string loss_curves_svg(const std::vector<LossRun>& runs, const PlotOptions& options = {});

// The rows of a metrics JSONL file (with "lr" and "health" when present); blank lines are skipped,
// other fields ignored. IoError "<path>: line <n>: <what>" for a line that is not a JSON object
// with a numeric "step" and "loss", or whose "lr" or "health" is malformed.
std::vector<MetricsPoint> read_metrics_jsonl(const std::filesystem::path& path);

}  // namespace tapegrad
