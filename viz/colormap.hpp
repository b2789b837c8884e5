// The sequential colour scale of the heatmaps (viridis: dark = low, yellow = high, readable in
// grey and by colour-blind readers) and its legend.
#pragma once

#include <string>
#include <vector>

#include "viz/svg.hpp"

namespace tapegrad::viz {

struct Scale {
    double lo = 0.0, hi = 1.0;  // values at the two ends; outside values are clamped
    bool mask = false;          // two colours instead: nonzero = may attend, zero = masked
};

inline constexpr double legend_height = 160;

// "#rrggbb" for value v; NaN is grey.
std::string colour(const Scale& scale, double v);
// Black or white, whichever reads better on colour(scale, v).
std::string text_colour_on(const Scale& scale, double v);
// lo..hi = min..max of the finite values (hi = lo + 1 when they are all equal or none is finite).
Scale data_scale(const std::vector<const std::vector<double>*>& values);
// A colour bar with five value labels, or the two mask swatches, its top-left corner at (x, y).
void draw_legend(svg::Element& parent, double x, double y, const Scale& scale);

}  // namespace tapegrad::viz
