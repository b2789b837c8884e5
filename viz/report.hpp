// One self-contained HTML page about a trained transformer: loss curves (train and validation),
// the learning-rate schedule, training-health charts, the attention grid (layers × heads; click
// or hover a head to enlarge it with its tokens), the logit lens, a generated sample and the
// whole-model gradient check. No network requests: styles, the SVG charts and a small script of
// our own are inline, fonts are the system's. Without JavaScript everything static still shows,
// and each head's enlarged map opens as a <details> below the grid.
//   Report report{.title = "tapegrad report"};
//   report.sections.push_back({.title = "copy", .metrics = curve, .attention = maps});
//   svg::save_file("out/report.html", report_html(report));   // an atomic write of any text
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "viz/lens.hpp"
#include "viz/plot.hpp"

namespace tapegrad {

struct ReportAttention {
    std::vector<Tensor> maps;  // per layer, weights [1,H,Tq,Tk] of one sequence (attention_maps)
    std::vector<std::string> query_labels, key_labels;  // Tq and Tk labels
    std::string caption;                                // what the model read, shown above the grid
};

// One model's (or one task's) part of the page; what is missing is said, not drawn.
struct ReportSection {
    std::string title;
    std::vector<std::string> notes;     // lines shown under the title ("accuracy 100%")
    std::vector<MetricsPoint> metrics;  // read_metrics_jsonl's rows, or a loop's own
    std::optional<ReportAttention> attention;
    std::optional<LogitLens> lens;
    std::string sample;     // generated text; empty = none
    std::string gradcheck;  // format_parameter_table's text; empty = none
};

struct Report {
    std::string title = "tapegrad report";
    std::vector<ReportSection> sections;
};

std::string report_html(const Report& report);

// The charts of a section's metrics, each an SVG (also used by report_html): "loss" (train and
// validation), "lr" when the rows have a learning rate, and, when some rows have health numbers,
// "update_ratio" and "grad_norm" (one line per block, "h.0"..., and one for the other
// parameters), and those of "act_std", "gelu_tail", "attn_entropy" (one line per block) and
// "logit_max" that some row measured (a GPT: all). `lines` and `dots`: what each draws.
struct ReportChart {
    std::string id, caption, svg;
    std::size_t lines = 0, dots = 0;
};
std::vector<ReportChart> metrics_charts(const std::vector<MetricsPoint>& rows);

}  // namespace tapegrad
