// tapegrad plot METRICS.jsonl --out FILE.svg: the training and validation loss curves of a run
// (the file `tapegrad train --metrics` writes), against step, as an SVG line chart.
#include <fmt/format.h>

#include <algorithm>

#include "cli/commands.hpp"
#include "viz/plot.hpp"
#include "viz/svg.hpp"

namespace tapegrad::cli {
namespace {

struct PlotArgs {
    std::string metrics, out;
    PlotOptions options;
};

// Logs number steps from 0, which a logarithmic axis cannot show: it shows steps done instead.
int run_plot(const PlotArgs& a) {
    std::vector<MetricsPoint> points = read_metrics_jsonl(a.metrics);
    PlotOptions options = a.options;
    if (options.log_step) {
        for (MetricsPoint& p : points) p.step += 1;
        options.step_label = "steps done (step + 1), log scale";
    }
    svg::save_file(a.out, loss_curve_svg(points, options));
    const auto validated = std::count_if(
        points.begin(), points.end(), [](const MetricsPoint& p) { return p.val_loss.has_value(); });
    fmt::print("wrote {}: {} rows, {} with a validation loss\n", a.out, points.size(), validated);
    return 0;
}

}  // namespace

Command add_plot_command(CLI::App& parent) {
    auto a = std::make_shared<PlotArgs>();
    CLI::App* c = parent.add_subcommand("plot", "draw the loss curves of a metrics file (SVG)");
    c->add_option("metrics", a->metrics, "metrics JSONL file written by tapegrad train --metrics")
        ->required()
        ->check(CLI::ExistingFile);
    c->add_option("--out", a->out, "SVG file to write")->required();
    c->add_flag("--log-step", a->options.log_step, "logarithmic axis of steps done (step + 1)");
    c->add_option("--title", a->options.title, "title above the chart");
    return {c, [a] { return run_plot(*a); }};
}

}  // namespace tapegrad::cli
