// tapegrad attention: where each head of a saved GPT looks while reading a prompt, as heatmaps in
// an SVG: one grid per layer and head, rows = queries, columns = keys, labelled with the tokens.
#include <fmt/format.h>

#include "autograd/ops/shape.hpp"
#include "autograd/tape.hpp"
#include "cli/commands.hpp"
#include "cli/token_ids.hpp"
#include "core/error.hpp"
#include "io/pretrained.hpp"
#include "viz/heatmap.hpp"
#include "viz/svg.hpp"

namespace tapegrad::cli {
namespace {

struct AttentionArgs {
    std::string model, prompt, out;
    std::int64_t layer = -1, head = -1;  // -1: all
};

void expect_index(const char* option, std::int64_t value, std::int64_t count, const char* what) {
    if (value < -1 || value >= count)
        throw ValueError(fmt::format("{} {}: the model has {} {} (0..{})", option, value, count,
                                     what, count - 1));
}

int run_attention(const AttentionArgs& a) {
    PretrainedGpt pre = load_pretrained(a.model);
    const GptConfig& c = pre.model->config();
    expect_index("--layer", a.layer, c.n_layer, "layers");
    expect_index("--head", a.head, c.n_head, "heads");
    auto [ids, labels] = prompt_tokens(pre, a.prompt);
    const auto T = static_cast<std::int64_t>(ids.size());
    std::vector<Tensor> maps =
        pre.model->attention_maps(tapegrad::ids(ids, {1, T}));  // [1,H,T,T] each
    std::string shown_prompt;
    for (const std::string& l : labels)  // ids are separated by spaces, tokens' texts are not
        shown_prompt += (pre.tokenizer || shown_prompt.empty() ? "" : " ") + l;
    HeatmapOptions options{.title = fmt::format("attention weights of {} reading \"{}\"", a.model,
                                                svg::shorten(shown_prompt, 48))};
    std::vector<Tensor> shown;
    NoGrad no_grad;
    for (std::int64_t l = 0; l < c.n_layer; ++l) {
        if (a.layer != -1 && l != a.layer) continue;
        shown.push_back(a.head == -1 ? maps[l] : slice(maps[l], 1, a.head, a.head + 1));
        options.layer_names.push_back(a.head == -1 ? fmt::format("layer {}", l)
                                                   : fmt::format("layer {} · head {}", l, a.head));
    }
    svg::save_file(a.out, attention_svg(shown, labels, labels, options));
    fmt::print("wrote {}: {} layer(s) × {} head(s), {} tokens\n", a.out, shown.size(),
               a.head == -1 ? c.n_head : 1, T);
    return 0;
}

}  // namespace

Command add_attention_command(CLI::App& parent) {
    auto a = std::make_shared<AttentionArgs>();
    CLI::App* c = parent.add_subcommand("attention",
                                        "draw where each head looks for a prompt (SVG heatmaps)");
    c->add_option("--model", a->model, "model or checkpoint directory")
        ->required()
        ->check(CLI::ExistingDirectory);
    c->add_option("--prompt", a->prompt, "text to read (token ids for a model without vocabulary)")
        ->required();
    c->add_option("--out", a->out, "SVG file to write")->required();
    c->add_option("--layer", a->layer, "draw only this layer (0-based)");
    c->add_option("--head", a->head, "draw only this head (0-based)");
    return {c, [a] { return run_attention(*a); }};
}

}  // namespace tapegrad::cli
