// tapegrad lens --model DIR --prompt TEXT [--top-k K] [--out FILE.svg]: the logit lens of a saved
// GPT reading a prompt — the next token it would guess after each block — with the residual
// stream's norms and each head's direct share of the correct next token's logit, as a terminal
// table and, with --out, an SVG.
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/token_ids.hpp"
#include "io/pretrained.hpp"
#include "train/lens.hpp"
#include "viz/lens.hpp"
#include "viz/svg.hpp"

namespace tapegrad::cli {
namespace {

struct LensArgs {
    std::string model, prompt, out;
    std::int64_t top_k = 5;
};

int run_lens(const LensArgs& a) {
    const PretrainedGpt pre = load_pretrained(a.model);
    const PromptTokens prompt = prompt_tokens(pre, a.prompt);
    LogitLens lens =
        logit_lens(*pre.model, prompt.ids, [&](std::int32_t id) { return token_label(pre, id); },
                   {.top_k = a.top_k});
    std::string shown;
    for (const std::string& l : prompt.labels)
        shown += (pre.tokenizer || shown.empty() ? "" : " ") + l;
    lens.title = fmt::format("logit lens of {} reading \"{}\"", a.model, svg::shorten(shown, 48));
    fmt::print("{}", lens_table(lens));
    if (!a.out.empty()) {
        svg::save_file(a.out, lens_svg(lens));
        fmt::print("wrote {}\n", a.out);
    }
    return 0;
}

}  // namespace

Command add_lens_command(CLI::App& parent) {
    auto a = std::make_shared<LensArgs>();
    CLI::App* c = parent.add_subcommand(
        "lens", "the logit lens: the next token a GPT would guess after each block");
    c->add_option("--model", a->model, "model or checkpoint directory")
        ->required()
        ->check(CLI::ExistingDirectory);
    c->add_option("--prompt", a->prompt, "text to read (token ids for a model without vocabulary)")
        ->required();
    c->add_option("--top-k", a->top_k, "guesses kept per layer and position (SVG tooltips)")
        ->check(CLI::PositiveNumber);
    c->add_option("--out", a->out, "also write the lens as this SVG file");
    return {c, [a] { return run_lens(*a); }};
}

}  // namespace tapegrad::cli
