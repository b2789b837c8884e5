// tapegrad sample: continue a prompt with a saved model. A model with a character vocabulary
// takes and prints text; one trained on token ids takes and prints space-separated ids.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>

#include "cli/commands.hpp"
#include "cli/token_ids.hpp"
#include "core/error.hpp"
#include "io/pretrained.hpp"
#include "train/generate.hpp"

namespace tapegrad::cli {
namespace {

struct SampleArgs {
    std::string model, prompt = "\n";
    std::int64_t tokens = 200;
    SamplingOptions sampling{.temperature = 0.8, .top_k = 0};
    std::uint64_t seed = 0;
    GenerateOptions generate;
    bool speed = false;
};

int run_sample(const SampleArgs& a) {
    PretrainedGpt pre = load_pretrained(a.model);
    Generator gen(a.seed);
    const std::vector<std::int32_t> prompt = prompt_ids(pre.tokenizer, a.prompt);
    const auto start = std::chrono::steady_clock::now();
    const std::vector<std::int32_t> out =
        generate_tokens(*pre.model, prompt, a.tokens, a.sampling, gen, a.generate);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (pre.tokenizer)
        fmt::print("{}\n", pre.tokenizer->decode(out));
    else
        fmt::print("{}\n", fmt::join(out, " "));
    if (a.speed)
        fmt::print(stderr, "generated {} tokens in {:.3f} s: {:.1f} tokens/s ({})\n", a.tokens,
                   seconds, static_cast<double>(a.tokens) / std::max(seconds, 1e-9),
                   a.generate.kv_cache ? "KV cache" : "no cache");
    return 0;
}

}  // namespace

Command add_sample_command(CLI::App& parent) {
    auto a = std::make_shared<SampleArgs>();
    CLI::App* c = parent.add_subcommand("sample", "continue a prompt with a saved model");
    c->add_option("--model", a->model, "model or checkpoint directory")
        ->required()
        ->check(CLI::ExistingDirectory);
    c->add_option("--prompt", a->prompt,
                  "text to continue (token ids for a model without vocabulary)");
    c->add_option("--tokens", a->tokens, "tokens to generate")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    c->add_option("--temperature", a->sampling.temperature, "softmax temperature; 0 = greedy")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    c->add_option("--top-k", a->sampling.top_k, "draw from the k most likely tokens only; 0 = all")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    c->add_option("--top-p", a->sampling.top_p,
                  "draw from the smallest set of likeliest tokens holding this much "
                  "probability (nucleus); 1 = all")
        ->check(CLI::Range(1e-9, 1.0))
        ->capture_default_str();
    c->add_option("--repetition-penalty", a->sampling.repetition_penalty,
                  "divide the positive logits (multiply "
                  "the negative) of tokens already in the text by this; 1 = none")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    c->add_option("--seed", a->seed, "random seed of the sampler")->capture_default_str();
    c->add_flag("!--no-kv-cache", a->generate.kv_cache,
                "read the whole context for every new token (slower, "
                "same tokens)");
    c->add_flag("--speed", a->speed, "print the generation speed (tokens/s) on stderr");
    return {c, [a] { return run_sample(*a); }};
}

}  // namespace tapegrad::cli
