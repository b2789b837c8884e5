#include "viz/colormap.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace tapegrad::viz {
namespace {

struct Rgb {
    double r, g, b;
};

// matplotlib's viridis sampled at 9 evenly spaced points; linear interpolation in between.
constexpr std::array<Rgb, 9> viridis = {{{68, 1, 84},
                                         {71, 44, 122},
                                         {59, 81, 139},
                                         {44, 113, 142},
                                         {33, 144, 141},
                                         {39, 173, 129},
                                         {92, 200, 99},
                                         {170, 220, 50},
                                         {253, 231, 37}}};
constexpr const char* masked_colour = "#e8e8e8";
constexpr const char* attend_colour = "#3b528b";

// Position of v on the scale in [0, 1].
double position(const Scale& s, double v) {
    const double t = s.hi > s.lo ? (v - s.lo) / (s.hi - s.lo) : 0.0;
    return std::clamp(t, 0.0, 1.0);
}

Rgb viridis_at(double t) {
    const double x = t * static_cast<double>(viridis.size() - 1);
    const auto i = std::min(static_cast<std::size_t>(x), viridis.size() - 2);
    const double f = x - static_cast<double>(i);
    const Rgb& a = viridis[i];
    const Rgb& b = viridis[i + 1];
    return {a.r + f * (b.r - a.r), a.g + f * (b.g - a.g), a.b + f * (b.b - a.b)};
}

std::string hex(const Rgb& c) {
    const auto byte = [](double v) {
        return static_cast<int>(std::lround(std::clamp(v, 0.0, 255.0)));
    };
    return fmt::format("#{:02x}{:02x}{:02x}", byte(c.r), byte(c.g), byte(c.b));
}

void draw_mask_legend(svg::Element& g, double x, double y) {
    const std::pair<const char*, const char*> entries[] = {{attend_colour, "may attend"},
                                                           {masked_colour, "masked"}};
    for (const auto& [fill, label] : entries) {
        g.add(svg::rect(x, y, 16, 16, fill)).attr("stroke", "#444").attr("stroke-width", 0.5);
        g.add(svg::text(x + 22, y + 12, label, 11));
        y += 24;
    }
}

void draw_colour_bar(svg::Element& g, double x, double y, const Scale& s) {
    svg::Element& gradient = g.add(svg::Element("defs")).add(svg::Element("linearGradient"));
    gradient.attr("id", "tapegrad-scale").attr("x1", 0).attr("y1", 1).attr("x2", 0).attr("y2", 0);
    for (int i = 0; i <= 8; ++i)
        gradient.add(svg::Element("stop"))
            .attr("offset", i / 8.0)
            .attr("stop-color", hex(viridis_at(i / 8.0)));
    g.add(svg::rect(x, y, 16, legend_height, "url(#tapegrad-scale)"))
        .attr("stroke", "#444")
        .attr("stroke-width", 0.5);
    for (int i = 0; i <= 4; ++i) {
        const double ty = y + legend_height * (1.0 - i / 4.0);
        g.add(svg::line(x + 16, ty, x + 20, ty, "#444"));
        g.add(svg::text(x + 23, ty + 4, fmt::format("{:.3g}", s.lo + (s.hi - s.lo) * i / 4.0), 11));
    }
}

}  // namespace

std::string colour(const Scale& scale, double v) {
    if (scale.mask) return v != 0 ? attend_colour : masked_colour;
    if (std::isnan(v)) return "#999999";
    return hex(viridis_at(position(scale, v)));
}

std::string text_colour_on(const Scale& scale, double v) {
    return scale.mask || std::isnan(v) || position(scale, v) < 0.55 ? "white" : "black";
}

Scale data_scale(const std::vector<const std::vector<double>*>& values) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const auto* vs : values)
        for (double v : *vs)
            if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    if (!(lo < hi))
        return {.lo = std::isfinite(lo) ? lo : 0.0, .hi = (std::isfinite(lo) ? lo : 0.0) + 1};
    return {.lo = lo, .hi = hi};
}

void draw_legend(svg::Element& parent, double x, double y, const Scale& scale) {
    svg::Element& g = parent.add(svg::group("legend"));
    if (scale.mask) {
        draw_mask_legend(g, x, y);
    } else {
        draw_colour_bar(g, x, y, scale);
    }
}

}  // namespace tapegrad::viz
