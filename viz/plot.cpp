#include "viz/plot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "viz/health.hpp"
#include "viz/svg.hpp"
#include "viz/ticks.hpp"

namespace tapegrad {
namespace {

constexpr const char* train_colour = "#1f77b4";
constexpr const char* val_colour = "#d62728";
// One colour a run when a chart shows several (matplotlib's first five).
constexpr const char* run_colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"};

// The plot area inside the margins and the two axes mapping data to it.
struct Frame {
    double left, top, width, height;
    viz::Axis x, y;
    svg::Point at(double step, double loss) const {
        return {left + x.fraction(step) * width, top + (1 - y.fraction(loss)) * height};
    }
};

Frame make_frame(const std::vector<LossRun>& runs, const PlotOptions& opt) {
    double step_lo = INFINITY, step_hi = -INFINITY, loss_lo = INFINITY, loss_hi = -INFINITY;
    for (const LossRun& run : runs)
        for (std::size_t i = 0; i < run.points.size(); ++i) {
            const MetricsPoint& p = run.points[i];
            const auto step = static_cast<double>(p.step);
            if (opt.log_step && step <= 0)
                throw ValueError(
                    fmt::format("loss_curve_svg: row {} has step {}: a logarithmic step axis "
                                "needs steps > 0",
                                i, p.step));
            step_lo = std::min(step_lo, step), step_hi = std::max(step_hi, step);
            for (double v : {p.loss, p.val_loss.value_or(NAN)})
                if (std::isfinite(v))
                    loss_lo = std::min(loss_lo, v), loss_hi = std::max(loss_hi, v);
        }
    if (!(loss_lo <= loss_hi)) loss_lo = 0, loss_hi = 1;  // nothing finite to show
    const double top = opt.title.empty() ? 20 : 44;
    return Frame{.left = 72,
                 .top = top,
                 .width = opt.width - 72 - 24,
                 .height = opt.height - top - 56,
                 .x = opt.log_step ? viz::Axis::logarithmic(step_lo, step_hi)
                                   : viz::Axis::linear(step_lo, step_hi, 6, /*integer=*/true),
                 .y = viz::Axis::linear(loss_lo, loss_hi, 6)};
}

// Grid lines, tick labels and the axis names.
void draw_axes(svg::Document& doc, const Frame& f, std::string_view step_label,
               std::string_view value_label) {
    svg::Element& g = doc.add(svg::group("axes"));
    const double bottom = f.top + f.height, right = f.left + f.width;
    for (double t : f.x.ticks()) {
        const double x = f.at(t, f.y.lo()).x;
        g.add(svg::line(x, f.top, x, bottom, "#e4e4e4"));
        g.add(svg::line(x, bottom, x, bottom + 5, "#333"));
        g.add(svg::text(x, bottom + 18, f.x.label(t), 11, "middle")).attr("class", "tick-label");
    }
    for (double t : f.y.ticks()) {
        const double y = f.at(f.x.lo(), t).y;
        g.add(svg::line(f.left, y, right, y, "#e4e4e4"));
        g.add(svg::line(f.left - 5, y, f.left, y, "#333"));
        g.add(svg::text(f.left - 8, y + 4, f.y.label(t), 11, "end")).attr("class", "tick-label");
    }
    g.add(svg::rect(f.left, f.top, f.width, f.height, "none")).attr("stroke", "#333");
    g.add(svg::text(f.left + f.width / 2, bottom + 40, step_label, 13, "middle"))
        .attr("class", "axis-label");
    const double ly = f.top + f.height / 2;
    g.add(svg::text(20, ly, value_label, 13, "middle"))
        .attr("class", "axis-label")
        .attr("transform", fmt::format("rotate(-90 20 {})", svg::number(ly)));
}

// One point per row whose value (the loss, or the val_loss when `validation`) is finite.
std::vector<svg::Point> series(const std::vector<MetricsPoint>& points, const Frame& f,
                               bool validation) {
    std::vector<svg::Point> out;
    for (const MetricsPoint& p : points) {
        const double v = validation ? p.val_loss.value_or(NAN) : p.loss;
        if (std::isfinite(v)) out.push_back(f.at(static_cast<double>(p.step), v));
    }
    return out;
}

// How one curve is drawn and named in the legend.
struct Curve {
    std::string colour, name;
    bool validation;
};

void draw_legend(svg::Document& doc, const Frame& f, const std::vector<Curve>& curves) {
    svg::Element& g = doc.add(svg::group("legend"));
    std::size_t longest = 0;
    for (const Curve& c : curves) longest = std::max(longest, c.name.size());
    const double box = 50 + 7.0 * static_cast<double>(longest);  // about 7 px a character at 12 px
    const double x = f.left + f.width - box - 10, y = f.top + 10;
    g.add(svg::rect(x, y, box, 10 + 20.0 * static_cast<double>(curves.size()), "white"))
        .attr("stroke", "#bbb")
        .attr("opacity", 0.9);
    for (std::size_t i = 0; i < curves.size(); ++i) {
        const double ry = y + 15 + 20.0 * static_cast<double>(i);
        g.add(svg::line(x + 8, ry, x + 32, ry, curves[i].colour))
            .attr("stroke-width", curves[i].validation ? 2 : 1.5);
        g.add(svg::text(x + 38, ry + 4, curves[i].name, 12));
    }
}

// One run's two curves; `pale` draws its train loss half transparent (several runs on a chart).
void draw_run(svg::Document& doc, const Frame& f, const std::vector<MetricsPoint>& points,
              const Curve& train, const Curve& val, bool pale, std::vector<Curve>& legend) {
    svg::Element& line = doc.add(svg::polyline(series(points, f, false), train.colour))
                             .attr("class", "train-loss")
                             .attr("stroke-width", 1.5)
                             .attr("stroke-linejoin", "round");
    if (pale) line.attr("opacity", 0.45);
    legend.push_back(train);
    const std::vector<svg::Point> dots = series(points, f, true);
    if (dots.empty()) return;
    svg::Element& g = doc.add(svg::group("validation"));
    g.add(svg::polyline(dots, val.colour)).attr("class", "val-loss").attr("stroke-width", 2);
    for (const svg::Point& p : dots) g.add(svg::circle(p.x, p.y, 3, val.colour));
    legend.push_back(val);
}

}  // namespace

std::string loss_curve_svg(const std::vector<MetricsPoint>& points, const PlotOptions& opt) {
    return loss_curves_svg({{.label = "", .points = points}}, opt);
}

std::string loss_curves_svg(const std::vector<LossRun>& runs, const PlotOptions& opt) {
    const bool some =
        std::any_of(runs.begin(), runs.end(), [](const LossRun& r) { return !r.points.empty(); });
    if (!some) throw ValueError("loss_curve_svg: no metrics rows to plot");
    const Frame f = make_frame(runs, opt);
    svg::Document doc(opt.width, opt.height);
    if (!opt.title.empty())
        doc.add(svg::text(opt.width / 2, 26, opt.title, 16, "middle"))
            .attr("font-weight", "bold")
            .attr("class", "title");
    draw_axes(doc, f, opt.step_label, opt.value_label);
    std::vector<Curve> legend;
    if (opt.series) {
        for (std::size_t r = 0; r < runs.size(); ++r) {
            const std::string colour = run_colours[r % std::size(run_colours)];
            draw_run(doc, f, runs[r].points, {colour, runs[r].label, false}, {}, false, legend);
        }
    } else if (runs.size() == 1) {  // one run: blue train loss, red validation loss
        draw_run(doc, f, runs[0].points, {train_colour, "train loss", false},
                 {val_colour, "validation loss", true}, false, legend);
    } else {
        for (std::size_t r = 0; r < runs.size(); ++r) {
            const std::string colour = run_colours[r % std::size(run_colours)];
            draw_run(doc, f, runs[r].points, {colour, runs[r].label + " train", false},
                     {colour, runs[r].label + " validation", true}, true, legend);
        }
    }
    draw_legend(doc, f, legend);
    return doc.str();
}

namespace {

MetricsPoint parse_row(const nlohmann::ordered_json& j) {
    if (!j.is_object()) throw std::invalid_argument("not a JSON object");
    if (!j.contains("step") || !j["step"].is_number_integer())
        throw std::invalid_argument("\"step\" is missing or not an integer");
    MetricsPoint p{.step = j["step"].get<std::int64_t>()};
    if (!j.contains("loss") || !(j["loss"].is_number() || j["loss"].is_null()))
        throw std::invalid_argument("\"loss\" is missing or not a number");
    if (j["loss"].is_number()) p.loss = j["loss"].get<double>();  // null: diverged, stays NaN
    if (j.contains("val_loss") && !j["val_loss"].is_null()) {
        if (!j["val_loss"].is_number()) throw std::invalid_argument("\"val_loss\" is not a number");
        p.val_loss = j["val_loss"].get<double>();
    }
    if (j.contains("lr")) {
        if (!j["lr"].is_number()) throw std::invalid_argument("\"lr\" is not a number");
        p.lr = j["lr"].get<double>();
    }
    if (j.contains("health")) p.health = parse_health_json(j["health"].dump(), p.step);
    return p;
}

}  // namespace

std::vector<MetricsPoint> read_metrics_jsonl(const std::filesystem::path& path) {
    const std::vector<std::byte> bytes = read_file(path);
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    std::vector<MetricsPoint> points;
    std::size_t line_no = 0;
    for (std::size_t start = 0; start < text.size();) {
        const std::size_t end = std::min(text.find('\n', start), text.size());
        const std::string_view line = text.substr(start, end - start);
        start = end + 1;
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        try {
            points.push_back(parse_row(nlohmann::ordered_json::parse(line)));
        } catch (const std::exception& e) {  // nlohmann's parse_error or ours
            throw_io_error(path.string(), fmt::format("line {}: {}", line_no, e.what()));
        }
    }
    return points;
}

}  // namespace tapegrad
