#include "viz/lens.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "viz/colormap.hpp"
#include "viz/svg.hpp"

namespace tapegrad {
namespace {

constexpr std::size_t label_chars = 8;  // token labels are cut to this in cells and columns

std::string guesses_text(const std::vector<LensGuess>& guesses) {
    std::string out;
    for (const LensGuess& g : guesses)
        out += fmt::format("{}'{}' {:.3f}", out.empty() ? "" : ", ", g.token, g.probability);
    return out;
}

// Colours from the smallest to the largest contribution.
viz::Scale contribution_scale(const std::vector<std::vector<double>>& rows) {
    std::vector<const std::vector<double>*> all;
    for (const auto& r : rows) all.push_back(&r);
    return viz::data_scale(all);
}

}  // namespace

std::string lens_table(const LogitLens& lens) {
    std::string out;
    if (!lens.title.empty()) out += lens.title + "\n";
    out += "top-1 next token (probability) read from the residual stream after each layer\n";
    std::size_t name_w = 5;
    for (const std::string& l : lens.layers) name_w = std::max(name_w, l.size());
    out += fmt::format("{:<{}}  {:>8}", "layer", name_w, "‖x‖");
    for (const std::string& t : lens.tokens)
        out += fmt::format("  {:<14}", svg::shorten(t, label_chars));
    out += "\n";
    for (std::size_t l = 0; l < lens.layers.size(); ++l) {
        out += fmt::format("{:<{}}  {:>8.3f}", lens.layers[l], name_w, lens.residual_norms[l]);
        for (const auto& guesses : lens.top[l]) {
            const std::string cell = fmt::format(
                "{} {:.2f}", svg::shorten(guesses[0].token, label_chars), guesses[0].probability);
            out += fmt::format("  {:<14}", cell);
        }
        out += "\n";
    }
    if (lens.head_logit.empty()) return out;
    out +=
        "\ndirect contribution of each head to the logit of the correct next token "
        "(mean over positions)\n";
    out += fmt::format("{:<{}}", "", name_w);
    for (std::size_t h = 0; h < lens.head_logit[0].size(); ++h)
        out += fmt::format("  {:>8}", fmt::format("head {}", h));
    out += "\n";
    for (std::size_t b = 0; b < lens.head_logit.size(); ++b) {
        out += fmt::format("{:<{}}", fmt::format("block {}", b), name_w);
        for (double v : lens.head_logit[b]) out += fmt::format("  {:>+8.3f}", v);
        out += "\n";
    }
    return out;
}

std::string lens_svg(const LogitLens& lens) {
    const double cell_w = 64, cell_h = 26, left = 96, top = 64, margin = 16;
    const auto cols = static_cast<double>(lens.tokens.size());
    const auto rows = static_cast<double>(lens.layers.size());
    const double grid_bottom = top + rows * cell_h;
    const std::size_t heads = lens.head_logit.empty() ? 0 : lens.head_logit[0].size();
    const double heads_top = grid_bottom + 48,
                 heads_h = static_cast<double>(lens.head_logit.size()) * cell_h;
    const double width =
        std::max(left + cols * cell_w + 90, left + static_cast<double>(heads) * cell_w + 150) +
        margin;
    const double height = (heads ? heads_top + heads_h : grid_bottom) + margin + 8;
    svg::Document doc(width, height);
    doc.add(svg::text(margin, 22, lens.title.empty() ? "logit lens" : lens.title, 15))
        .attr("font-weight", "bold")
        .attr("class", "title");
    doc.add(svg::text(margin, 42,
                      "rows: read-outs after each layer · columns: prompt tokens · "
                      "cell: top-1 next token, colour: its probability",
                      11))
        .attr("fill", "#555");
    const viz::Scale prob;  // 0..1
    svg::Element& grid = doc.add(svg::group("lens-grid"));
    for (std::size_t t = 0; t < lens.tokens.size(); ++t)
        grid.add(svg::text(left + (static_cast<double>(t) + 0.5) * cell_w, top - 6,
                           svg::shorten(lens.tokens[t], label_chars), 11, "middle"))
            .attr("class", "key-label");
    grid.add(svg::text(left + cols * cell_w + 8, top - 6, "‖x‖", 11));
    for (std::size_t l = 0; l < lens.layers.size(); ++l) {
        const double y = top + static_cast<double>(l) * cell_h;
        grid.add(svg::text(left - 6, y + cell_h * 0.65, lens.layers[l], 11, "end"));
        for (std::size_t t = 0; t < lens.top[l].size(); ++t) {
            const LensGuess& best = lens.top[l][t][0];
            const double x = left + static_cast<double>(t) * cell_w;
            grid.add(svg::rect(x, y, cell_w, cell_h, viz::colour(prob, best.probability)))
                .attr("class", "cell")
                .tooltip(fmt::format("after {}, at '{}': {}", lens.layers[l], lens.tokens[t],
                                     guesses_text(lens.top[l][t])));
            grid.add(svg::text(x + cell_w / 2, y + cell_h * 0.65,
                               svg::shorten(best.token, label_chars), 11, "middle"))
                .attr("fill", viz::text_colour_on(prob, best.probability));
        }
        grid.add(svg::text(left + cols * cell_w + 8, y + cell_h * 0.65,
                           fmt::format("{:.2f}", lens.residual_norms[l]), 11));
    }
    if (!heads) return doc.str();
    svg::Element& g = doc.add(svg::group("head-logit"));
    g.add(svg::text(margin, heads_top - 14,
                    "direct contribution of each head to the correct next token's logit", 12));
    const viz::Scale scale = contribution_scale(lens.head_logit);
    for (std::size_t b = 0; b < lens.head_logit.size(); ++b) {
        const double y = heads_top + static_cast<double>(b) * cell_h;
        g.add(svg::text(left - 6, y + cell_h * 0.65, fmt::format("block {}", b), 11, "end"));
        for (std::size_t h = 0; h < heads; ++h) {
            const double v = lens.head_logit[b][h], x = left + static_cast<double>(h) * cell_w;
            g.add(svg::rect(x, y, cell_w, cell_h, viz::colour(scale, v)))
                .attr("class", "cell")
                .tooltip(fmt::format("block {} head {}: {:+.4f}", b, h, v));
            g.add(svg::text(x + cell_w / 2, y + cell_h * 0.65, fmt::format("{:+.2f}", v), 11,
                            "middle"))
                .attr("fill", viz::text_colour_on(scale, v));
        }
    }
    return doc.str();
}

}  // namespace tapegrad
