#include "cli/run_settings.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace tapegrad::cli {
namespace {

using json = nlohmann::json;

// One fixed setting: its option name and how to move it between the struct and JSON.
template <class T>
void merge_one(const CLI::App& command, const json& saved, const char* option, T& value) {
    const std::string key = std::string(option).substr(2);
    if (!saved.contains(key)) return;
    const T old = saved[key].get<T>();
    if (command.get_option(option)->count() == 0)
        value = old;
    else if (value != old)
        throw ValueError(fmt::format("resume: {} {} differs from the checkpoint's {}; a resumed run keeps its "
                                     "settings (start a new run with --init to change them)", option, value, old));
}

// Calls f(option, value) for every setting a checkpoint keeps (RunSettings or const RunSettings).
template <class Settings, class F>
void for_each_setting(Settings& s, F&& f) {
    f("--optimizer", s.optimizer), f("--batch", s.batch), f("--block-size", s.block_size);
    f("--lr", s.lr), f("--min-lr", s.min_lr), f("--warmup", s.warmup), f("--weight-decay", s.weight_decay);
    f("--beta1", s.beta1), f("--beta2", s.beta2), f("--momentum", s.momentum), f("--grad-clip", s.grad_clip);
    f("--val-fraction", s.val_fraction), f("--seed", s.seed), f("--sampling", s.sampling);
    f("--precision", s.precision), f("--shards", s.shards);
    f("--steps", s.steps);
}

}  // namespace

void add_run_options(CLI::App& c, RunSettings& s) {
    c.add_option("--optimizer", s.optimizer, "adamw, adam or sgd")
        ->check(CLI::IsMember({"adamw", "adam", "sgd"}))->capture_default_str();
    c.add_option("--batch", s.batch, "sequences per step")->check(CLI::PositiveNumber)->capture_default_str();
    c.add_option("--block-size", s.block_size, "context length T (default: the model's n_positions)")
        ->check(CLI::NonNegativeNumber);
    c.add_option("--lr", s.lr, "peak learning rate")->check(CLI::PositiveNumber)->capture_default_str();
    c.add_option("--min-lr", s.min_lr, "learning rate at the end of the cosine decay (default lr/10)");
    c.add_option("--warmup", s.warmup, "linear warm-up steps")->check(CLI::NonNegativeNumber)->capture_default_str();
    c.add_option("--weight-decay", s.weight_decay, "decoupled (adamw) or L2 weight decay on matrices")
        ->check(CLI::NonNegativeNumber)->capture_default_str();
    c.add_option("--beta1", s.beta1, "adam/adamw first-moment decay")->check(CLI::Range(0.0, 0.999999))
        ->capture_default_str();
    c.add_option("--beta2", s.beta2, "adam/adamw second-moment decay")->check(CLI::Range(0.0, 0.999999))
        ->capture_default_str();
    c.add_option("--momentum", s.momentum, "sgd momentum")->check(CLI::Range(0.0, 0.999999))->capture_default_str();
    c.add_option("--grad-clip", s.grad_clip, "clip the global gradient norm to this (0 = off)")
        ->check(CLI::NonNegativeNumber)->capture_default_str();
    c.add_option("--val-fraction", s.val_fraction, "share of the data held out for validation, at its end")
        ->check(CLI::Range(0.0, 0.5))->capture_default_str();
    c.add_option("--seed", s.seed, "initialisation, dropout and the random windows")->capture_default_str();
    c.add_option("--sampling", s.sampling, "training batches: random windows keyed by seed and step, or "
                 "llm.c's sequential order")->check(CLI::IsMember({"random", "sequential"}))->capture_default_str();
    c.add_option("--precision", s.precision,
                 "matrix products in fp32, or bf16 with fp32 "
                 "accumulation (weights, gradients and optimizer state stay fp32)")
        ->check(CLI::IsMember({"fp32", "bf16"}))
        ->capture_default_str();
    c.add_option("--shards", s.shards,
                 "run each batch as this many equal parts side by side, one thread each: faster "
                 "for small models (--batch must be a multiple)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    c.add_option("--steps", s.steps, "total optimizer steps (the schedule ends here)")
        ->check(CLI::PositiveNumber)->capture_default_str();
    c.add_option("--eval-every", s.eval_every, "validation every K steps (0 = only at the end)")
        ->check(CLI::NonNegativeNumber)->capture_default_str();
    c.add_option("--eval-batches", s.eval_batches, "validation batches, spread over the validation split, "
                 "or 'all' to sweep it once")->transform(CLI::Transformer({{"all", "0"}}))
        ->check(CLI::NonNegativeNumber)->capture_default_str();
}

std::string to_json(const RunSettings& s) {
    json j;
    for_each_setting(s, [&](const char* option, const auto& value) { j[option + 2] = value; });
    return j.dump();
}

void merge_saved_settings(const CLI::App& c, RunSettings& s, const std::string& saved_json) {
    json saved = json::parse(saved_json);
    // Checkpoints from before --sampling existed were trained with the sequential rule.
    if (saved.is_object() && !saved.contains("sampling")) saved["sampling"] = "sequential";
    try {
        for_each_setting(s, [&](const char* option, auto& value) {
            if (std::string_view(option) != "--steps") merge_one(c, saved, option, value);
        });
    } catch (const json::exception& e) {
        throw IoError(fmt::format("resume: the checkpoint's run settings are malformed: {}", e.what()));
    }
    if (c.get_option("--steps")->count() == 0 && saved.contains("steps")) s.steps = saved["steps"].get<std::int64_t>();
}

}  // namespace tapegrad::cli
