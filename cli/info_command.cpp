// tapegrad info DIR: what a model or checkpoint directory holds — its config, parameter count,
// every tensor with its shape and dtype, and for a checkpoint the step and run settings;
// tapegrad info --system: what this machine offers and runs (core/precision.hpp's system_summary).
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/precision.hpp"
#include "io/checkpoint.hpp"
#include "io/pretrained.hpp"
#include "io/safetensors.hpp"
#include "io/stale_staging.hpp"

namespace tapegrad::cli {
namespace {

std::string shown_vocabulary(const CharTokenizer& t) {
    std::string out;
    for (char c : t.vocabulary()) {
        if (c == '\n')
            out += "\\n";
        else if (c == '\t')
            out += "\\t";
        else if (static_cast<unsigned char>(c) < 32 || static_cast<unsigned char>(c) >= 127)
            out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        else
            out += c;
    }
    return out;
}

// Staging directories of saves killed half way: harmless to the checkpoint, removed by its next
// save.
void print_stale_staging(const std::string& dir) {
    for (const std::filesystem::path& p : stale_staging(dir))
        fmt::print("  stale staging left by an interrupted save: {} (the next save removes it)\n",
                   p.string());
}

int run_info(const std::string& dir) {
    const PretrainedGpt pre = load_pretrained(dir);  // validates config and weights together
    const GptConfig& c = pre.model->config();
    fmt::print("{}: GPT-2 layout, {} parameters\n", dir, pre.model->parameter_count());
    fmt::print(
        "  vocab_size {}  n_positions {}  n_embd {}  n_layer {}  n_head {}  layer_norm_epsilon "
        "{:g}  "
        "dropout {:g}\n",
        c.vocab_size, c.n_positions, c.n_embd, c.n_layer, c.n_head, c.layer_norm_epsilon,
        c.dropout);
    if (const CharTokenizer* chars = pre.tokenizer ? pre.tokenizer->chars() : nullptr)
        fmt::print("  tokenizer: {} characters \"{}\"\n", chars->size(), shown_vocabulary(*chars));
    else if (pre.tokenizer)
        fmt::print("  tokenizer: {} (vocab.json + merges.txt)\n", pre.tokenizer->describe());
    else
        fmt::print("  tokenizer: none (trained on token ids)\n");
    if (is_checkpoint(dir)) {
        const TrainerState s = read_trainer_state(dir);
        fmt::print("  training checkpoint at step {}, run settings {}\n", s.step, s.run_json);
    }
    const SafetensorsFile weights =
        load_safetensors(std::filesystem::path(dir) / "model.safetensors");
    fmt::print("  model.safetensors: {} tensors\n", weights.tensors.size());
    for (const auto& [name, t] : weights.tensors)
        fmt::print("    {:<32} {:<14} {}\n", name, fmt::format("{}", t.shape()),
                   dtype_name(t.dtype()));
    print_stale_staging(dir);
    return 0;
}

}  // namespace

Command add_info_command(CLI::App& parent) {
    auto dir = std::make_shared<std::string>();
    auto system = std::make_shared<bool>(false);
    CLI::App* c = parent.add_subcommand(
        "info", "show a model or checkpoint directory's config and tensors, or --system");
    auto* dir_option =
        c->add_option("dir", *dir, "model or checkpoint directory")->check(CLI::ExistingDirectory);
    c->add_flag("--system", *system,
                "show the CPU's matrix ISA, BLAS and oneDNN versions and threads")
        ->excludes(dir_option);
    return {c, [dir, system] {
                if (*system) {
                    fmt::print("{}\n", system_summary());
                    return 0;
                }
                if (dir->empty()) throw ValueError("give a model directory or --system");
                return run_info(*dir);
            }};
}

}  // namespace tapegrad::cli
