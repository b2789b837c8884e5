// tapegrad report [--model DIR] [--metrics FILE] [--prompt TEXT] --out report.html: one HTML page
// (viz/report.hpp) with what it is given: the metrics' loss, learning-rate and health charts; the
// model's attention grid, logit lens and a generated sample for the prompt, and its whole-model
// gradient check. Without --prompt the model reads the start of its own sample.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "check/gradcheck_module.hpp"
#include "check/gradcheck_table.hpp"
#include "cli/commands.hpp"
#include "cli/token_ids.hpp"
#include "core/error.hpp"
#include "io/pretrained.hpp"
#include "train/generate.hpp"
#include "train/lens.hpp"
#include "viz/report.hpp"
#include "viz/svg.hpp"

namespace tapegrad::cli {
namespace {

struct ReportArgs {
    std::string model, metrics, prompt, out = "report.html";
    std::int64_t sample_tokens = 120;
    std::int64_t gradcheck_elements = 3;  // per parameter tensor; 0 = no gradient check
};

std::string decoded(const PretrainedGpt& pre, const std::vector<std::int32_t>& ids) {
    if (pre.tokenizer) return pre.tokenizer->decode(ids);
    std::string out;
    for (std::int32_t id : ids) out += (out.empty() ? "" : " ") + std::to_string(id);
    return out;
}

// The model's parts of the page: sample, attention, lens and gradient check.
void add_model(const ReportArgs& a, ReportSection& s) {
    PretrainedGpt pre = load_pretrained(a.model);
    Gpt& model = *pre.model;
    const std::int64_t positions = model.config().n_positions;
    Generator gen(0);
    PromptTokens prompt;
    if (!a.prompt.empty()) prompt = prompt_tokens(pre, a.prompt);
    const std::vector<std::int32_t> start =
        a.prompt.empty() ? std::vector<std::int32_t>{0} : prompt.ids;
    const std::vector<std::int32_t> text =
        generate_tokens(model, start, a.sample_tokens, {.temperature = 0.8}, gen);
    s.sample = decoded(pre, text);
    if (a.prompt.empty()) {  // the first tokens of its own sample, up to 24
        const auto n = static_cast<std::ptrdiff_t>(
            std::min<std::int64_t>({24, positions, std::int64_t(text.size())}));
        prompt.ids.assign(text.begin(), text.begin() + n);
        for (std::int32_t id : prompt.ids) prompt.labels.push_back(token_label(pre, id));
    }
    const auto T = static_cast<std::int64_t>(prompt.ids.size());
    s.attention =
        ReportAttention{.maps = model.attention_maps(tapegrad::ids(prompt.ids, {1, T})),
                        .query_labels = prompt.labels,
                        .key_labels = prompt.labels,
                        .caption = fmt::format("{} layers × {} heads reading {} tokens",
                                               model.config().n_layer, model.config().n_head, T)};
    s.lens = logit_lens(model, prompt.ids, [&](std::int32_t id) { return token_label(pre, id); });
    if (a.gradcheck_elements > 0)
        s.gradcheck = format_parameter_table(
            gradcheck_gpt(a.model, 2, std::min<std::int64_t>(8, positions),
                          static_cast<std::size_t>(a.gradcheck_elements), 0));
}

int run_report(const ReportArgs& a) {
    ReportSection s;
    if (!a.model.empty())
        s.title = a.model;
    else if (!a.metrics.empty())
        s.title = std::filesystem::path(a.metrics).filename().string();
    if (!a.metrics.empty()) {
        s.metrics = read_metrics_jsonl(a.metrics);
        s.notes.push_back(fmt::format("metrics: {} ({} rows)", a.metrics, s.metrics.size()));
    }
    if (!a.model.empty()) add_model(a, s);
    Report report;
    if (!a.model.empty() || !a.metrics.empty()) report.sections.push_back(std::move(s));
    svg::save_file(a.out, report_html(report));
    fmt::print("wrote {}\n", a.out);
    return 0;
}

}  // namespace

Command add_report_command(CLI::App& parent) {
    auto a = std::make_shared<ReportArgs>();
    CLI::App* c = parent.add_subcommand(
        "report", "one HTML page: loss and health charts, attention grid, logit lens, sample");
    c->add_option("--model", a->model, "model or checkpoint directory")
        ->check(CLI::ExistingDirectory);
    c->add_option("--metrics", a->metrics, "metrics JSONL written by tapegrad train --metrics")
        ->check(CLI::ExistingFile);
    c->add_option("--prompt", a->prompt,
                  "text the model reads for the attention grid and the lens (default: the start "
                  "of its own sample)");
    c->add_option("--out", a->out, "HTML file to write (default report.html)");
    c->add_option("--sample-tokens", a->sample_tokens, "tokens to generate for the sample")
        ->check(CLI::NonNegativeNumber);
    c->add_option("--gradcheck-elements", a->gradcheck_elements,
                  "elements checked per parameter tensor (0: no gradient check)")
        ->check(CLI::NonNegativeNumber);
    return {c, [a] { return run_report(*a); }};
}

}  // namespace tapegrad::cli
