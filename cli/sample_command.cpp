// tapegrad sample: continue a prompt with a saved model. A model with a character vocabulary
// takes and prints text; one trained on token ids takes and prints space-separated ids.
#include <fmt/format.h>
#include <fmt/ranges.h>


#include "cli/commands.hpp"
#include "cli/token_ids.hpp"
#include "core/error.hpp"
#include "train/generate.hpp"
#include "train/pretrained.hpp"

namespace tapegrad::cli {
namespace {

struct SampleArgs {
    std::string model, prompt = "\n";
    std::int64_t tokens = 200;
    SamplingOptions sampling{.temperature = 0.8, .top_k = 0};
    std::uint64_t seed = 0;
};

int run_sample(const SampleArgs& a) {
    PretrainedGpt pre = load_pretrained(a.model);
    Generator gen(a.seed);
    if (pre.tokenizer) {
        const std::vector<std::int32_t> out =
            generate_tokens(*pre.model, pre.tokenizer->encode(a.prompt), a.tokens, a.sampling, gen);
        fmt::print("{}\n", pre.tokenizer->decode(out));
    } else {
        const std::vector<std::int32_t> prompt = parse_token_ids(a.prompt, "--prompt", prompt_of_ids);
        const std::vector<std::int32_t> out = generate_tokens(*pre.model, prompt, a.tokens, a.sampling, gen);
        fmt::print("{}\n", fmt::join(out, " "));
    }
    return 0;
}

}  // namespace

Command add_sample_command(CLI::App& parent) {
    auto a = std::make_shared<SampleArgs>();
    CLI::App* c = parent.add_subcommand("sample", "continue a prompt with a saved model");
    c->add_option("--model", a->model, "model or checkpoint directory")->required()->check(CLI::ExistingDirectory);
    c->add_option("--prompt", a->prompt, "text to continue (token ids for a model without vocabulary)");
    c->add_option("--tokens", a->tokens, "tokens to generate")->check(CLI::NonNegativeNumber)->capture_default_str();
    c->add_option("--temperature", a->sampling.temperature, "softmax temperature; 0 = greedy")
        ->check(CLI::NonNegativeNumber)->capture_default_str();
    c->add_option("--top-k", a->sampling.top_k, "draw from the k most likely tokens only; 0 = all")
        ->check(CLI::NonNegativeNumber)->capture_default_str();
    c->add_option("--seed", a->seed, "random seed of the sampler")->capture_default_str();
    return {c, [a] { return run_sample(*a); }};
}

}  // namespace tapegrad::cli
