// tapegrad plot METRICS.jsonl [MORE.jsonl ...] [--label NAME ...] --out FILE.svg: the training and
// validation loss curves of a run (the file `tapegrad train --metrics` writes), or of several runs
// on one chart (fp32 against bf16), against step, as an SVG line chart.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "viz/plot.hpp"
#include "viz/svg.hpp"

namespace tapegrad::cli {
namespace {

struct PlotArgs {
    std::vector<std::string> metrics, labels;
    std::string out;
    PlotOptions options;
};

// Logs number steps from 0, which a logarithmic axis cannot show: it shows steps done instead.
int run_plot(const PlotArgs& a) {
    if (!a.labels.empty() && a.labels.size() != a.metrics.size())
        throw ValueError(fmt::format("plot: {} metrics files but {} --label names; give one a file",
                                     a.metrics.size(), a.labels.size()));
    std::vector<LossRun> runs;
    std::size_t rows = 0, validated = 0;
    for (std::size_t i = 0; i < a.metrics.size(); ++i) {
        LossRun run{.label = a.labels.empty() ? std::filesystem::path(a.metrics[i]).stem().string()
                                              : a.labels[i],
                    .points = read_metrics_jsonl(a.metrics[i])};
        if (a.options.log_step)
            for (MetricsPoint& p : run.points) p.step += 1;
        rows += run.points.size();
        validated += static_cast<std::size_t>(
            std::count_if(run.points.begin(), run.points.end(),
                          [](const MetricsPoint& p) { return p.val_loss.has_value(); }));
        runs.push_back(std::move(run));
    }
    PlotOptions options = a.options;
    if (options.log_step) options.step_label = "steps done (step + 1), log scale";
    svg::save_file(a.out, loss_curves_svg(runs, options));
    fmt::print("wrote {}: {} rows, {} with a validation loss{}\n", a.out, rows, validated,
               runs.size() > 1 ? fmt::format(", {} runs", runs.size()) : "");
    return 0;
}

}  // namespace

Command add_plot_command(CLI::App& parent) {
    auto a = std::make_shared<PlotArgs>();
    CLI::App* c = parent.add_subcommand("plot", "draw the loss curves of a metrics file (SVG)");
    c->add_option("metrics", a->metrics,
                  "metrics JSONL files written by tapegrad train --metrics (several: one chart)")
        ->required()
        ->check(CLI::ExistingFile);
    c->add_option("--label", a->labels, "a name for each file's curves (default: the file name)");
    c->add_option("--out", a->out, "SVG file to write")->required();
    c->add_flag("--log-step", a->options.log_step, "logarithmic axis of steps done (step + 1)");
    c->add_option("--title", a->options.title, "title above the chart");
    return {c, [a] { return run_plot(*a); }};
}

}  // namespace tapegrad::cli
