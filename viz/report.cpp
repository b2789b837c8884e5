#include "viz/report.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "viz/heatmap.hpp"
#include "viz/svg.hpp"

namespace tapegrad {
namespace {

constexpr const char* style = R"(
body { font-family: system-ui, "DejaVu Sans", Arial, sans-serif; margin: 0 auto; max-width: 1500px;
       padding: 0 24px 48px; color: #222; background: #fafafa; }
h1 { font-size: 24px; margin: 24px 0 4px; }
h2 { font-size: 20px; border-bottom: 2px solid #1f77b4; padding-bottom: 4px; margin-top: 36px; }
h3 { font-size: 16px; margin: 24px 0 8px; color: #333; }
nav a { margin-right: 14px; }
.notes { color: #444; margin: 4px 0; }
.missing { color: #888; font-style: italic; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; background: white; border: 1px solid #ddd; padding: 6px; overflow-x: auto; }
figcaption { font-size: 13px; color: #444; margin: 2px 4px 4px; }
pre { background: white; border: 1px solid #ddd; padding: 10px; overflow-x: auto; font-size: 12px; }
.attention-grid g.panel { cursor: pointer; }
.attention-grid g.panel.chosen rect.cell { stroke: #d62728; stroke-width: 0.6; }
.head-focus { margin-top: 10px; }
details.head { margin: 2px 0; }
table.entropy { border-collapse: collapse; margin-top: 10px; background: white; font-size: 13px; }
table.entropy caption { text-align: left; color: #444; padding: 4px 0; white-space: nowrap; }
table.entropy th, table.entropy td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
details.head summary { cursor: pointer; font-size: 13px; color: #1f77b4; }
)";

// Ours, inline: hovering or clicking a head of an attention grid shows its enlarged map (the
// matching <details> below the grid) in the panel after the grid.
constexpr const char* script = R"js(
"use strict";
document.querySelectorAll(".attention").forEach(function (box) {
  var heads = Number(box.dataset.heads);
  var focus = box.querySelector(".head-focus");
  var panels = box.querySelectorAll(".attention-grid g.panel");
  panels.forEach(function (panel, i) {
    var layer = Math.floor(i / heads), head = i % heads;
    function show() {
      var big = box.querySelector('details.head[data-layer="' + layer + '"][data-head="' + head + '"] svg');
      if (!big) return;
      var copy = big.cloneNode(true);
      copy.querySelectorAll("linearGradient[id]").forEach(function (g) {
        var old = g.id;
        g.id = old + "-shown";
        copy.querySelectorAll('[fill="url(#' + old + ')"]').forEach(function (r) {
          r.setAttribute("fill", "url(#" + g.id + ")");
        });
      });
      focus.replaceChildren(copy);
      focus.hidden = false;
      focus.dataset.shown = layer + "," + head;
      panels.forEach(function (p) { p.classList.toggle("chosen", p === panel); });
    }
    panel.addEventListener("click", show);
    panel.addEventListener("mouseenter", show);
  });
});
)js";

std::string esc(std::string_view text) { return svg::xml_escape(text); }

// Text for a <pre>: escaped line by line, so its newlines stay newlines (xml_escape shows them).
std::string esc_lines(std::string_view text) {
    std::string out;
    for (std::size_t start = 0; start <= text.size();) {
        const std::size_t end = std::min(text.find('\n', start), text.size());
        out += esc(text.substr(start, end - start));
        if (end < text.size()) out += '\n';
        start = end + 1;
    }
    return out;
}

// SVG documents made ready to sit inside the page: without the XML declaration, and with the
// colour bar's gradient given an id of its own per picture (a url(#id) resolving to a gradient
// inside a hidden element, such as a closed <details>, paints nothing).
struct Inliner {
    std::size_t pictures = 0;
    std::string operator()(const std::string& document);
};

std::string Inliner::operator()(const std::string& document) {
    static constexpr std::string_view gradient = "tapegrad-scale";
    std::string out = document.substr(std::min(document.find("<svg"), document.size()));
    const std::string unique = fmt::format("{}-{}", gradient, ++pictures);
    for (std::size_t at = 0; (at = out.find(gradient, at)) != std::string::npos;) {
        out.replace(at, gradient.size(), unique);
        at += unique.size();
    }
    return out;
}

std::string missing(std::string_view what) {
    return fmt::format("<p class=\"missing\">{}</p>\n", esc(what));
}

// Each head's attention entropy at the last measured step: the chart shows only the mean of a
// block's heads, and a head gone to 0 (one key) or staying at ln T (uniform) is what to spot.
std::string entropy_table(const std::vector<MetricsPoint>& rows) {
    const auto last = std::find_if(rows.rbegin(), rows.rend(), [](const MetricsPoint& p) {
        return p.health && !p.health->layers.empty();
    });
    if (last == rows.rend()) return "";
    const std::vector<LayerHealth>& layers = last->health->layers;
    std::string out = fmt::format(
        "<table class=\"entropy\"><caption>attention entropy of each head at step {} (nats; 0 = "
        "one key)</caption>\n<tr><th></th>",
        last->step);
    for (std::size_t h = 0; h < layers[0].attention_entropy.size(); ++h)
        out += fmt::format("<th>head {}</th>", h);
    out += "</tr>\n";
    for (std::size_t l = 0; l < layers.size(); ++l) {
        out += fmt::format("<tr><th>block {}</th>", l);
        for (double e : layers[l].attention_entropy) out += fmt::format("<td>{:.3f}</td>", e);
        out += "</tr>\n";
    }
    return out + "</table>\n";
}

std::string charts_html(const ReportSection& s, Inliner& inline_svg) {
    const std::vector<ReportChart> charts = metrics_charts(s.metrics);
    if (charts.empty()) return "<h3>Training</h3>\n" + missing("no metrics given");
    std::string out = "<h3>Training</h3>\n<div class=\"charts\">\n";
    for (const ReportChart& c : charts) {
        if (c.id == "update_ratio")
            out += "</div>\n<h3>Training health</h3>\n<div class=\"charts\">\n";
        out += fmt::format(
            "<figure class=\"chart\" data-chart=\"{}\" data-lines=\"{}\" data-dots=\"{}\">"
            "<figcaption>{}</figcaption>\n{}</figure>\n",
            c.id, c.lines, c.dots, esc(c.caption), inline_svg(c.svg));
    }
    return out + "</div>\n" + entropy_table(s.metrics);
}

// A layer's weights as one head's [1,1,Tq,Tk] tensor.
Tensor one_head(const Tensor& layer, std::int64_t head) {
    const std::int64_t tq = layer.dim(-2), tk = layer.dim(-1);
    const std::vector<double> all = layer.to_vector();
    const auto begin = all.begin() + head * tq * tk;
    const std::vector<double> part(begin, begin + tq * tk);
    return from(part, {1, 1, tq, tk});
}

std::string attention_html(const ReportAttention& a, Inliner& inline_svg) {
    if (a.maps.empty()) return missing("no attention maps");
    const std::int64_t heads = a.maps[0].rank() == 4 ? a.maps[0].dim(1) : 1;
    const auto layers = a.maps.size();
    std::string out = fmt::format(
        "<div class=\"attention\" data-layers=\"{}\" data-heads=\"{}\">\n<p class=\"notes\">{}"
        "Rows are queries, columns keys. Hover or click a head to enlarge it; without "
        "JavaScript, open it from the list below.</p>\n",
        layers, heads, a.caption.empty() ? "" : esc(a.caption) + ". ");
    const std::int64_t tq = a.maps[0].dim(-2);
    const double small = std::max(4.0, std::min(14.0, 240.0 / static_cast<double>(tq)));
    out += fmt::format("<figure class=\"chart attention-grid\" data-panels=\"{}\">{}</figure>\n",
                       static_cast<std::int64_t>(layers) * heads,
                       inline_svg(attention_svg(a.maps, a.query_labels, a.key_labels,
                                                {.cell_size = small, .max_label_chars = 6})));
    out += "<figure class=\"head-focus\" hidden></figure>\n";
    for (std::size_t l = 0; l < layers; ++l)
        for (std::int64_t h = 0; h < heads; ++h) {
            const std::string name = fmt::format("layer {} · head {}", l, h);
            const HeatmapOptions big{
                .title = name,
                .cell_size = std::max(14.0, std::min(30.0, 560.0 / double(tq))),
                .show_values = tq <= 12};
            out += fmt::format(
                "<details class=\"head\" data-layer=\"{}\" data-head=\"{}\"><summary>{}</summary>"
                "{}</details>\n",
                l, h, esc(name),
                inline_svg(
                    attention_svg(one_head(a.maps[l], h), a.query_labels, a.key_labels, big)));
        }
    return out + "</div>\n";
}

std::string section_html(const ReportSection& s, std::size_t index, Inliner& inline_svg) {
    std::string out =
        fmt::format("<section class=\"part\" id=\"part-{}\">\n<h2>{}</h2>\n", index, esc(s.title));
    for (const std::string& n : s.notes) out += fmt::format("<p class=\"notes\">{}</p>\n", esc(n));
    out += charts_html(s, inline_svg);
    out += "<h3>Attention</h3>\n";
    out += s.attention ? attention_html(*s.attention, inline_svg) : missing("no model given");
    if (s.lens) {
        out += "<h3>Logit lens</h3>\n";
        out += fmt::format("<figure class=\"chart lens\">{}</figure>\n<pre>{}</pre>\n",
                           inline_svg(lens_svg(*s.lens)), esc_lines(lens_table(*s.lens)));
    }
    if (!s.sample.empty())
        out += fmt::format("<h3>A generated sample</h3>\n<pre class=\"sample\">{}</pre>\n",
                           esc_lines(s.sample));
    if (!s.gradcheck.empty())
        out += fmt::format(
            "<h3>Gradient check of the whole model (float64)</h3>\n"
            "<pre class=\"gradcheck\">{}</pre>\n",
            esc_lines(s.gradcheck));
    return out + "</section>\n";
}

}  // namespace

std::string report_html(const Report& report) {
    std::string out = fmt::format(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>{0}</title>\n<style>{1}</style>\n</head>\n<body>\n<h1>{0}</h1>\n",
        esc(report.title), style);
    if (report.sections.size() > 1) {
        out += "<nav>";
        for (std::size_t i = 0; i < report.sections.size(); ++i)
            out += fmt::format("<a href=\"#part-{}\">{}</a>", i, esc(report.sections[i].title));
        out += "</nav>\n";
    }
    if (report.sections.empty()) out += missing("nothing to show: give a model or a metrics file");
    Inliner inline_svg;
    for (std::size_t i = 0; i < report.sections.size(); ++i)
        out += section_html(report.sections[i], i, inline_svg);
    return out + fmt::format("<script>{}</script>\n</body>\n</html>\n", script);
}

}  // namespace tapegrad
