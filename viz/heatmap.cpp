#include "viz/heatmap.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/shape.hpp"
#include "viz/colormap.hpp"
#include "viz/svg.hpp"

namespace tapegrad {
namespace {

// The heads of one batch item: values [H,Tq,Tk] as doubles.
struct Heads {
    std::int64_t count = 1, tq = 0, tk = 0;
    std::vector<double> values;
};

Heads heads_of(std::string_view op, std::string_view name, const Tensor& t, std::int64_t batch) {
    const Shape& s = t.shape();
    if (s.rank() < 2 || s.rank() > 4)
        throw_shape_error(
            op, fmt::format("{} {}", name, s),
            fmt::format("expected [B,H,Tq,Tk], [B,Tq,Tk] or [Tq,Tk] (rank {})", s.rank()));
    Heads h{.count = s.rank() == 4 ? s[1] : 1, .tq = s.dim(-2), .tk = s.dim(-1)};
    const std::int64_t batches = s.rank() >= 3 ? s[0] : 1;
    if (batch < 0 || batch >= batches)
        throw ValueError(fmt::format("{}: {} {}: batch_index {} out of range (batch size {})", op,
                                     name, s, batch, batches));
    const std::vector<double> all = t.to_vector();
    const auto per_item = static_cast<std::ptrdiff_t>(h.count * h.tq * h.tk);
    h.values.assign(all.begin() + batch * per_item, all.begin() + (batch + 1) * per_item);
    return h;
}

std::vector<std::string> labels_or_positions(std::string_view op, const Shape& s,
                                             std::string_view which,
                                             const std::vector<std::string>& labels,
                                             std::int64_t n) {
    if (labels.empty()) {
        std::vector<std::string> positions;
        for (std::int64_t i = 0; i < n; ++i) positions.push_back(std::to_string(i));
        return positions;
    }
    if (static_cast<std::int64_t>(labels.size()) != n)
        throw_shape_error(op, fmt::format("weights {}, {}_labels [{}]", s, which, labels.size()),
                          fmt::format("{} lengths differ ({} vs {})", which, n, labels.size()));
    return labels;
}

// What is drawn: rows of panels (one row per layer, one panel per head) over shared labels.
struct Panel {
    std::string caption;
    const double* values = nullptr;  // [Tq,Tk]
};

struct Picture {
    std::vector<std::vector<Panel>> rows;
    std::int64_t tq = 0, tk = 0;
    std::vector<std::string> query_labels, key_labels;
    viz::Scale scale;
};

struct Layout {
    double cell, font, left, top, header;
    double caption = 18, gap = 24, margin = 16, legend_width = 120;
    double block_width(std::int64_t tk) const { return left + cell * static_cast<double>(tk); }
    double block_height(std::int64_t tq) const {
        return caption + top + cell * static_cast<double>(tq);
    }
};

double widest(const std::vector<std::string>& labels, std::size_t max_chars, double font) {
    double w = 0;
    for (const auto& l : labels) w = std::max(w, svg::text_width(svg::shorten(l, max_chars), font));
    return w;
}

Layout make_layout(const Picture& p, const HeatmapOptions& opt) {
    const double cell = std::max(4.0, opt.cell_size);
    const double font = std::min(12.0, std::max(6.0, cell * 0.55));
    return Layout{.cell = cell,
                  .font = font,
                  .left = widest(p.query_labels, opt.max_label_chars, font) + 8,
                  .top = widest(p.key_labels, opt.max_label_chars, font) + 8,
                  .header = (opt.title.empty() ? 0.0 : 26.0) + 20};
}

std::string format_value(double v) { return std::isnan(v) ? "nan" : fmt::format("{:.4g}", v); }

void draw_cell(svg::Element& g, const Layout& layout, const Picture& p, const HeatmapOptions& opt,
               double x, double y, std::int64_t q, std::int64_t k, double v) {
    const auto& ql = p.query_labels[static_cast<std::size_t>(q)];
    const auto& kl = p.key_labels[static_cast<std::size_t>(k)];
    const std::string value = p.scale.mask ? (v != 0 ? "may attend" : "masked") : format_value(v);
    g.add(svg::rect(x, y, layout.cell, layout.cell, viz::colour(p.scale, v)))
        .attr("class", "cell")
        .tooltip(fmt::format("query {} '{}' → key {} '{}': {}", q, ql, k, kl, value));
    if (opt.show_values && !p.scale.mask)
        g.add(svg::text(x + layout.cell / 2, y + layout.cell / 2 + layout.font * 0.3,
                        fmt::format("{:.2f}", v), layout.font * 0.7, "middle"))
            .attr("fill", viz::text_colour_on(p.scale, v));
}

// One grid with its caption, key labels on top (rotated) and query labels on the left.
void draw_panel(svg::Element& parent, double x, double y, const Layout& layout, const Picture& p,
                const Panel& panel, const HeatmapOptions& opt) {
    svg::Element& g = parent.add(svg::group("panel"));
    if (!panel.caption.empty())
        g.add(svg::text(x + layout.left, y + 13, panel.caption, 13)).attr("font-weight", "bold");
    const double gx = x + layout.left, gy = y + layout.caption + layout.top;
    for (std::int64_t k = 0; k < p.tk; ++k) {
        const double cx = gx + (static_cast<double>(k) + 0.5) * layout.cell + layout.font * 0.35,
                     cy = gy - 4;
        g.add(
             svg::text(cx, cy,
                       svg::shorten(p.key_labels[static_cast<std::size_t>(k)], opt.max_label_chars),
                       layout.font))
            .attr("class", "key-label")
            .attr("transform", fmt::format("rotate(-90 {} {})", svg::number(cx), svg::number(cy)));
    }
    for (std::int64_t q = 0; q < p.tq; ++q) {
        const double cy = gy + (static_cast<double>(q) + 0.5) * layout.cell + layout.font * 0.35;
        g.add(svg::text(
                  gx - 4, cy,
                  svg::shorten(p.query_labels[static_cast<std::size_t>(q)], opt.max_label_chars),
                  layout.font, "end"))
            .attr("class", "query-label");
    }
    for (std::int64_t q = 0; q < p.tq; ++q)
        for (std::int64_t k = 0; k < p.tk; ++k)
            draw_cell(g, layout, p, opt, gx + static_cast<double>(k) * layout.cell,
                      gy + static_cast<double>(q) * layout.cell, q, k, panel.values[q * p.tk + k]);
    g.add(svg::rect(gx, gy, layout.cell * static_cast<double>(p.tk),
                    layout.cell * static_cast<double>(p.tq), "none"))
        .attr("stroke", "#444")
        .attr("stroke-width", 0.5);
}

std::string render(const Picture& p, const HeatmapOptions& opt) {
    const Layout layout = make_layout(p, opt);
    const auto cols = static_cast<double>(p.rows.front().size());
    const auto rows = static_cast<double>(p.rows.size());
    const double grids_w = cols * layout.block_width(p.tk) + (cols - 1) * layout.gap;
    const double grids_h = rows * layout.block_height(p.tq) + (rows - 1) * layout.gap;
    const char* what = p.scale.mask ? "colour: may attend or masked" : "colour: attention weight";
    const std::string header = fmt::format("rows: queries · columns: keys · {}", what);
    // wide enough for the title and the header line too, which small grids would clip
    const double text_w = std::max(svg::text_width(opt.title, 16), svg::text_width(header, 11));
    const double width =
        layout.margin * 2 + std::max(grids_w + layout.gap + layout.legend_width, text_w);
    const double height =
        layout.margin * 2 + layout.header + std::max(grids_h, viz::legend_height + 40);
    svg::Document doc(width, height);
    double y = layout.margin;
    if (!opt.title.empty()) {
        doc.add(svg::text(layout.margin, y + 16, opt.title, 16))
            .attr("font-weight", "bold")
            .attr("class", "title");
        y += 26;
    }
    doc.add(svg::text(layout.margin, y + 12, header, 11)).attr("fill", "#555");
    y += 20;
    for (std::size_t r = 0; r < p.rows.size(); ++r)
        for (std::size_t c = 0; c < p.rows[r].size(); ++c)
            draw_panel(
                doc.root(),
                layout.margin + static_cast<double>(c) * (layout.block_width(p.tk) + layout.gap),
                y + static_cast<double>(r) * (layout.block_height(p.tq) + layout.gap), layout, p,
                p.rows[r][c], opt);
    viz::draw_legend(doc.root(), layout.margin + grids_w + layout.gap,
                     y + layout.caption + layout.top, p.scale);
    return doc.str();
}

// The layers' heads for one batch item, checked to share one shape.
std::vector<Heads> collect(std::string_view op, const std::vector<Tensor>& layers,
                           const HeatmapOptions& opt) {
    if (layers.empty()) throw ValueError(fmt::format("{}: no tensors to draw", op));
    if (!opt.layer_names.empty() && opt.layer_names.size() != layers.size())
        throw ValueError(fmt::format("{}: {} layer_names for {} layers", op, opt.layer_names.size(),
                                     layers.size()));
    std::vector<Heads> all;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        if (!(layers[i].shape() == layers[0].shape()))
            throw_shape_error(
                op, fmt::format("layer 0 {}, layer {} {}", layers[0].shape(), i, layers[i].shape()),
                "shapes differ");
        all.push_back(heads_of(op, "weights", layers[i], opt.batch_index));
    }
    return all;
}

std::string caption(const HeatmapOptions& opt, std::size_t layer, std::size_t n_layers,
                    std::int64_t head, std::int64_t n_heads) {
    std::string name = !opt.layer_names.empty() ? opt.layer_names[layer]
                       : n_layers > 1           ? fmt::format("layer {}", layer)
                                                : "";
    if (n_heads == 1) return name;
    return name.empty() ? fmt::format("head {}", head) : fmt::format("{} · head {}", name, head);
}

std::string draw(std::string_view op, const std::vector<Tensor>& layers,
                 const std::vector<std::string>& query_labels,
                 const std::vector<std::string>& key_labels, const HeatmapOptions& opt, bool mask) {
    const std::vector<Heads> all = collect(op, layers, opt);
    const Shape& s = layers[0].shape();
    Picture p{.tq = all[0].tq,
              .tk = all[0].tk,
              .query_labels = labels_or_positions(op, s, "query", query_labels, all[0].tq),
              .key_labels = labels_or_positions(op, s, "key", key_labels, all[0].tk)};
    for (std::size_t l = 0; l < all.size(); ++l) {
        auto& row = p.rows.emplace_back();
        for (std::int64_t h = 0; h < all[l].count; ++h)
            row.push_back({caption(opt, l, all.size(), h, all[l].count),
                           all[l].values.data() + h * p.tq * p.tk});
    }
    if (mask) {
        p.scale.mask = true;
    } else if (opt.data_range) {
        std::vector<const std::vector<double>*> values;
        for (const Heads& h : all) values.push_back(&h.values);
        p.scale = viz::data_scale(values);
    }
    return render(p, opt);
}

void expect_mask_dtype(std::string_view op, const Tensor& mask) {
    if (mask.dtype() != b8)
        throw ValueError(fmt::format("{}: mask {}: expected dtype b8, got {}", op, mask.shape(),
                                     dtype_name(mask.dtype())));
}

}  // namespace

std::string attention_svg(const Tensor& weights, const std::vector<std::string>& query_labels,
                          const std::vector<std::string>& key_labels,
                          const HeatmapOptions& options) {
    return attention_svg(std::vector<Tensor>{weights}, query_labels, key_labels, options);
}

std::string attention_svg(const std::vector<Tensor>& layers,
                          const std::vector<std::string>& query_labels,
                          const std::vector<std::string>& key_labels,
                          const HeatmapOptions& options) {
    for (const Tensor& t : layers)
        if (!is_floating(t.dtype())) detail::throw_not_floating("attention_svg", t.dtype());
    return draw("attention_svg", layers, query_labels, key_labels, options, /*mask=*/false);
}

std::string mask_svg(const Tensor& mask, const std::vector<std::string>& query_labels,
                     const std::vector<std::string>& key_labels, const HeatmapOptions& options) {
    expect_mask_dtype("mask_svg", mask);
    return draw("mask_svg", {mask}, query_labels, key_labels, options, /*mask=*/true);
}

std::string mask_text(const Tensor& mask) {
    expect_mask_dtype("mask_text", mask);
    const Shape& s = mask.shape();
    const bool leading_ones = std::all_of(s.begin(), s.end() - std::min<std::size_t>(2, s.rank()),
                                          [](std::int64_t d) { return d == 1; });
    if (s.rank() < 2 || !leading_ones)
        throw_shape_error("mask_text", fmt::format("mask {}", s),
                          "expected [Tq,Tk] (leading axes of size 1 allowed)");
    const std::int64_t tq = s.dim(-2), tk = s.dim(-1);
    const std::vector<double> v = mask.to_vector();
    std::string out;
    for (std::int64_t q = 0; q < tq; ++q) {
        for (std::int64_t k = 0; k < tk; ++k) {
            if (k > 0) out += ' ';
            out += v[static_cast<std::size_t>(q * tk + k)] != 0 ? "■" : "·";
        }
        out += '\n';
    }
    return out;
}

}  // namespace tapegrad
