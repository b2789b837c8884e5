// tapegrad mask: the mask an attention call applies when padding, causal and custom masks are
// combined, as a text grid (■ may attend, · masked) with what each layer does with a query row
// that keeps no key, and optionally as an SVG.
//   tapegrad mask --length 4 --causal --padding "1 1 1 0"
//   tapegrad mask --length 3 --custom "110/011/001" --svg mask.svg
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "layers/masks.hpp"
#include "viz/heatmap.hpp"
#include "viz/svg.hpp"

namespace tapegrad::cli {
namespace {

struct MaskArgs {
    std::int64_t length = 0;
    bool causal = false;
    std::string padding, custom, svg;
};

// "1 1 1 0" (commas allowed) -> b8 [T].
Tensor parse_padding(const std::string& text, std::int64_t length) {
    std::string spaced = text;
    std::replace(spaced.begin(), spaced.end(), ',', ' ');
    std::istringstream in(spaced);
    std::vector<std::uint8_t> values;
    for (std::string word; in >> word;) {
        if (word != "0" && word != "1")
            throw ValueError(fmt::format("--padding: '{}' is not 0 or 1 (1 = real token)", word));
        values.push_back(word == "1");
    }
    if (static_cast<std::int64_t>(values.size()) != length)
        throw ValueError(
            fmt::format("--padding: {} entries for --length {}", values.size(), length));
    return mask(values, {length});
}

// One cell of a custom pattern at text[i]: 1 for "1", "x", "■"; 0 for "0", ".", "·"; -1 for
// anything else. `used` gets the bytes read.
int read_cell(std::string_view text, std::size_t i, std::size_t& used) {
    for (const auto& [symbol, value] : {std::pair<std::string_view, int>{"■", 1},
                                        {"·", 0},
                                        {"1", 1},
                                        {"x", 1},
                                        {"0", 0},
                                        {".", 0}})
        if (text.substr(i, symbol.size()) == symbol) {
            used = symbol.size();
            return value;
        }
    used = 1;
    return -1;
}

// Rows separated by newlines, "/" or ";", one cell per key; spaces and commas are ignored.
Tensor parse_custom(std::string text, std::int64_t length) {
    if (std::filesystem::is_regular_file(text)) {
        std::ifstream in(text);
        text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    std::vector<std::uint8_t> values;
    std::int64_t rows = 0, in_row = 0;
    const auto end_row = [&] {
        if (in_row == 0) return;
        if (in_row != length)
            throw ValueError(
                fmt::format("--custom: row {} has {} cells, --length is {}", rows, in_row, length));
        ++rows, in_row = 0;
    };
    for (std::size_t i = 0, used = 1; i < text.size(); i += used) {
        used = 1;
        if (text[i] == '\n' || text[i] == '/' || text[i] == ';') end_row();
        if (std::string_view(" ,\t\r\n/;").find(text[i]) != std::string_view::npos) continue;
        const int cell = read_cell(text, i, used);
        if (cell < 0)
            throw ValueError(
                fmt::format("--custom: '{}' in row {} is not a cell (1, x, ■ may attend; 0, ., · "
                            "masked)",
                            text[i], rows));
        values.push_back(static_cast<std::uint8_t>(cell));
        ++in_row;
    }
    end_row();
    if (rows != length)
        throw ValueError(fmt::format("--custom: {} rows, --length is {}", rows, length));
    return mask(values, {length, length});
}

int run_mask(const MaskArgs& a) {
    MaskParts parts{.tq = a.length, .tv = a.length, .causal = a.causal};
    if (!a.padding.empty())
        parts.query_mask = parts.value_mask = parse_padding(a.padding, a.length);
    if (!a.custom.empty()) parts.attention_mask = parse_custom(a.custom, a.length);
    const Tensor combined = combine_masks(parts);
    fmt::print("combined mask, {0} queries × {0} keys:\n{1}{2}", a.length, mask_text(combined),
               explain_mask(parts));
    if (!a.svg.empty()) {
        svg::save_file(a.svg, mask_svg(combined, {}, {},
                                       {.title = fmt::format("combined mask, T = {}", a.length)}));
        fmt::print("wrote {}\n", a.svg);
    }
    return 0;
}

}  // namespace

Command add_mask_command(CLI::App& parent) {
    auto a = std::make_shared<MaskArgs>();
    CLI::App* c = parent.add_subcommand(
        "mask", "show the combined attention mask (padding ∧ causal ∧ custom)");
    c->add_option("--length", a->length, "sequence length T (queries and keys)")
        ->required()
        ->check(CLI::Range(1, 512));
    c->add_flag("--causal", a->causal, "query i sees keys j <= i");
    c->add_option("--padding", a->padding,
                  "padding mask of the sequence, e.g. \"1 1 1 0\" (1 = real token); masks padded "
                  "queries and keys");
    c->add_option("--custom", a->custom,
                  "custom mask: a file or a pattern of T rows separated by '/', e.g. "
                  "\"110/011/001\" (1 = may attend)");
    c->add_option("--svg", a->svg, "also draw the mask into this SVG file");
    return {c, [a] { return run_mask(*a); }};
}

}  // namespace tapegrad::cli
