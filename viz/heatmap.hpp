// Attention pictures: weights as heatmaps (one grid per head, one row of grids per layer) and
// masks as text or SVG grids. Rows are query tokens, columns key tokens, as in weights[q, k].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace tapegrad {

struct HeatmapOptions {
    std::int64_t batch_index = 0;  // which sequence of a batched tensor to draw
    std::string title;             // drawn above the grids when not empty
    std::vector<std::string>
        layer_names;                   // one per tensor of the layer overload; default "layer i"
    bool data_range = false;           // colour scale min..max of the values instead of 0..1
    double cell_size = 22;             // pixels per cell
    bool show_values = false;          // print each weight in its cell (for small grids)
    std::size_t max_label_chars = 12;  // longer token labels are cut and end with "…"
};

// weights [B,H,Tq,Tk], [B,Tq,Tk] or [Tq,Tk], f32 or f64 -> an SVG document. Empty label vectors
// mean "label by position"; otherwise query_labels has Tq entries and key_labels Tk. Each cell
// has a tooltip with the two tokens and the weight; a legend shows the sequential colour scale.
std::string attention_svg(const Tensor& weights, const std::vector<std::string>& query_labels,
                          const std::vector<std::string>& key_labels,
                          const HeatmapOptions& options = {});
// One tensor per layer, all of the same shape: one row of head grids per layer.
std::string attention_svg(const std::vector<Tensor>& layers,
                          const std::vector<std::string>& query_labels,
                          const std::vector<std::string>& key_labels,
                          const HeatmapOptions& options = {});

// A b8 mask [Tq,Tk] (leading axes of size 1 allowed) as text, one line per query, one symbol per
// key: "■" may attend, "·" masked. A causal mask of 3 gives "■ · ·\n■ ■ ·\n■ ■ ■\n".
std::string mask_text(const Tensor& mask);
// A b8 mask of the shapes attention_svg takes, drawn as two-colour grids with token labels.
std::string mask_svg(const Tensor& mask, const std::vector<std::string>& query_labels,
                     const std::vector<std::string>& key_labels,
                     const HeatmapOptions& options = {});

}  // namespace tapegrad
