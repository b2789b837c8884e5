// The charts of the HTML report's training part: loss, learning rate and the health numbers.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <map>
#include <optional>

#include "viz/report.hpp"

namespace tapegrad {
namespace {

constexpr double chart_width = 420, chart_height = 280;

// A parameter's group on the charts: "h.3" for "h.3.attn.c_attn.weight" (a block of a module
// list), else "other": embeddings, final norm and head together.
std::string group_of(const std::string& name) {
    const std::size_t dot = name.find('.');
    if (dot == std::string::npos) return "other";
    const std::size_t next = name.find('.', dot + 1);
    const std::string index =
        name.substr(dot + 1, next == std::string::npos ? next : next - dot - 1);
    const bool numeric =
        !index.empty() && std::all_of(index.begin(), index.end(),
                                      [](unsigned char c) { return std::isdigit(c) != 0; });
    return numeric ? name.substr(0, next) : "other";
}

// ‖Δw‖/‖w‖ and ‖g‖ of a whole group: the root of the sum of its tensors' squares.
struct GroupSums {
    double update_sq = 0, weight_sq = 0, grad_sq = 0;
};

ReportChart chart(std::string id, std::string caption, std::vector<LossRun> runs,
                  std::string value_label) {
    ReportChart c{.id = std::move(id), .caption = std::move(caption)};
    c.lines = runs.size();  // one polyline a run, even when none of its values is finite
    c.svg = loss_curves_svg(runs, {.value_label = std::move(value_label),
                                   .series = true,
                                   .width = chart_width,
                                   .height = chart_height});
    return c;
}

// One series per key, from each health row's values; rows are in step order.
using Extract = std::function<std::vector<std::pair<std::string, double>>(const HealthStats&)>;
std::vector<LossRun> health_series(const std::vector<const HealthStats*>& rows,
                                   const Extract& extract) {
    std::vector<LossRun> runs;
    std::map<std::string, std::size_t> index;
    for (const HealthStats* h : rows)
        for (const auto& [key, value] : extract(*h)) {
            auto [it, added] = index.emplace(key, runs.size());
            if (added) runs.push_back({.label = key});
            runs[it->second].points.push_back({.step = h->step, .loss = value});
        }
    return runs;
}

std::vector<std::pair<std::string, double>> group_values(const HealthStats& h, bool update) {
    std::vector<std::string> order;
    std::map<std::string, GroupSums> sums;
    for (const ParameterHealth& p : h.parameters) {
        const std::string g = group_of(p.name);
        if (!sums.count(g)) order.push_back(g);
        GroupSums& s = sums[g];
        s.update_sq += std::pow(p.update_ratio * p.weight_norm, 2);
        s.weight_sq += p.weight_norm * p.weight_norm;
        s.grad_sq += p.grad_norm * p.grad_norm;
    }
    std::vector<std::pair<std::string, double>> out;
    for (const std::string& g : order) {
        const GroupSums& s = sums[g];
        out.emplace_back(g, update ? (s.weight_sq > 0 ? std::sqrt(s.update_sq / s.weight_sq) : 0.0)
                                   : std::sqrt(s.grad_sq));
    }
    return out;
}

using LayerValue = std::optional<double> (*)(const LayerHealth&);

// One value per block that has it, named "block i".
std::vector<std::pair<std::string, double>> per_block(const HealthStats& h, LayerValue value) {
    std::vector<std::pair<std::string, double>> out;
    for (std::size_t l = 0; l < h.layers.size(); ++l)
        if (const std::optional<double> v = value(h.layers[l]))
            out.emplace_back(fmt::format("block {}", l), *v);
    return out;
}

std::optional<double> mean_entropy(const LayerHealth& l) {
    if (l.attention_entropy.empty()) return std::nullopt;
    double s = 0;
    for (double e : l.attention_entropy) s += e;
    return s / static_cast<double>(l.attention_entropy.size());
}

// A chart of what some rows measured; none when no row did.
void add_if_any(std::vector<ReportChart>& charts, std::string id, std::string caption,
                std::vector<LossRun> runs, std::string value_label) {
    if (!runs.empty())
        charts.push_back(
            chart(std::move(id), std::move(caption), std::move(runs), std::move(value_label)));
}

void add_health_charts(const std::vector<MetricsPoint>& rows, std::vector<ReportChart>& charts) {
    std::vector<const HealthStats*> health;
    for (const MetricsPoint& p : rows)
        if (p.health) health.push_back(&*p.health);
    if (health.empty()) return;
    add_if_any(charts, "update_ratio",
               "update-to-weight ratio ‖Δw‖/‖w‖ per block (≈1e-3 is healthy)",
               health_series(health, [](const HealthStats& h) { return group_values(h, true); }),
               "‖Δw‖ / ‖w‖");
    add_if_any(charts, "grad_norm", "gradient norm per block, before clipping",
               health_series(health, [](const HealthStats& h) { return group_values(h, false); }),
               "‖g‖");
    const auto blocks = [&](LayerValue value) {
        return health_series(health, [value](const HealthStats& h) { return per_block(h, value); });
    };
    add_if_any(charts, "act_std", "residual stream std after each block",
               blocks([](const LayerHealth& l) { return l.std; }), "std");
    add_if_any(charts, "gelu_tail", "share of GELU inputs below −3 (units that learn nothing)",
               blocks([](const LayerHealth& l) { return l.gelu_below_minus3; }), "share");
    add_if_any(charts, "attn_entropy", "attention entropy, mean over heads (nats)",
               blocks(mean_entropy), "entropy");
    add_if_any(charts, "logit_max", "largest |logit| of the batch",
               health_series(health,
                             [](const HealthStats& h) {
                                 std::vector<std::pair<std::string, double>> out;
                                 if (h.logit_max) out.emplace_back("max |logit|", *h.logit_max);
                                 return out;
                             }),
               "|logit|");
}

}  // namespace

std::vector<ReportChart> metrics_charts(const std::vector<MetricsPoint>& rows) {
    std::vector<ReportChart> charts;
    if (rows.empty()) return charts;
    ReportChart loss{.id = "loss", .caption = "training and validation loss"};
    loss.svg = loss_curve_svg(rows, {.width = chart_width, .height = chart_height});
    loss.lines = 1;
    for (const MetricsPoint& p : rows) loss.dots += p.val_loss && std::isfinite(*p.val_loss);
    loss.lines += loss.dots > 0;
    charts.push_back(std::move(loss));
    LossRun lr{.label = "learning rate"};
    for (const MetricsPoint& p : rows)
        if (p.lr) lr.points.push_back({.step = p.step, .loss = *p.lr});
    if (!lr.points.empty())
        charts.push_back(chart("lr", "learning-rate schedule", {std::move(lr)}, "learning rate"));
    add_health_charts(rows, charts);
    return charts;
}

}  // namespace tapegrad
