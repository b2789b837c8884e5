// Generation speed of a GPT with and without the KV cache: greedy tokens from a one-token prompt
// to the full context, tokens/s for each (the same tokens either way). bench/torch_generate.py is
// the PyTorch twin.
//   build/generate_bench small      (configs as bench/gpt_bench.cpp; vocabulary 65)
#include <fmt/format.h>

#include <chrono>
#include <cstring>

#include "layers/gpt.hpp"
#include "train/generate.hpp"

using namespace tapegrad;

int main(int argc, char** argv) {
    struct Config {
        const char* name;
        std::int64_t context, layers, heads, width;
    };
    const Config configs[] = {
        {"tiny", 64, 2, 4, 64}, {"small", 128, 4, 4, 128}, {"medium", 256, 6, 6, 384}};
    const char* wanted = argc > 1 ? argv[1] : "small";
    for (const Config& c : configs) {
        if (std::strcmp(c.name, wanted) != 0) continue;
        Gpt model({.vocab_size = 65,
                   .n_positions = c.context,
                   .n_embd = c.width,
                   .n_layer = c.layers,
                   .n_head = c.heads,
                   .seed = 1});
        const std::int64_t tokens = c.context - 1;
        std::vector<std::int32_t> out[2];
        double per_s[2];
        for (int cached = 1; cached >= 0; --cached) {
            Generator gen(1);
            generate_tokens(model, {0}, 8, {.temperature = 0}, gen,
                            {.kv_cache = cached == 1});  // warm-up
            const auto start = std::chrono::steady_clock::now();
            out[cached] = generate_tokens(model, {0}, tokens, {.temperature = 0}, gen,
                                          {.kv_cache = cached == 1});
            per_s[cached] =
                static_cast<double>(tokens) /
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        }
        fmt::print(
            "{{\"config\": \"{}\", \"tokens\": {}, \"kv_cache_tokens_per_s\": {:.1f}, "
            "\"no_cache_tokens_per_s\": {:.1f}, \"same_tokens\": {}}}\n",
            c.name, tokens, per_s[1], per_s[0], out[0] == out[1]);
        return 0;
    }
    fmt::print(stderr, "generate_bench: config {} is not tiny, small or medium\n", wanted);
    return 2;
}
