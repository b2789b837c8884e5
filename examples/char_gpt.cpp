// A character-level GPT (GPT-2 style: token + learned position embeddings, pre-LN blocks, final
// LayerNorm, head tied to the token embedding, GELU tanh, biases) trained on a text file, the last
// 10 % held out for validation. Prints the validation curve and a sample.
//   build/char_gpt ../shared/data/tinyshakespeare.txt --time-limit 600
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "optim/adam.hpp"
#include "train/lm_train.hpp"

using namespace tapegrad;

namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IoError(fmt::format("char_gpt: cannot open '{}'", path));
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app("Train a character-level GPT on a text file");
    std::string path;
    LmTrainOptions opt{.batch = 16, .block_size = 128, .steps = 5000, .lr = 2e-3, .min_lr = 2e-4, .warmup = 100,
                       .eval_every = 250, .eval_batches = 32};
    GptConfig config{.n_positions = 128, .n_embd = 128, .n_layer = 4, .n_head = 4, .seed = 1337};
    std::int64_t sample_tokens = 400;
    app.add_option("text", path, "training text (the last 10% is held out)")->required();
    app.add_option("--steps", opt.steps, "optimizer steps (the cosine schedule ends here)");
    app.add_option("--time-limit", opt.time_limit, "stop after this many seconds");
    app.add_option("--lr", opt.lr, "peak learning rate");
    app.add_option("--batch", opt.batch, "sequences per step");
    app.add_option("--metrics", opt.metrics_path, "append metrics as JSON lines to this file");
    app.add_option("--sample", sample_tokens, "characters to sample at the end");
    app.add_flag("--quiet", opt.quiet, "no progress bar");
    CLI11_PARSE(app, argc, argv);
    try {
        const std::string text = read_text(path);
        const CharTokenizer tokenizer = CharTokenizer::from_text(text);
        const auto [train, val] = TokenData(tokenizer.encode(text)).split(0.1);
        config.vocab_size = tokenizer.size();
        config.n_positions = opt.block_size;
        Gpt model(config);
        fmt::print("char GPT: {} layers, {} heads, width {}, context {}, vocabulary {}, {} parameters; "
                   "{} training / {} validation characters\n", config.n_layer, config.n_head, config.n_embd,
                   config.n_positions, config.vocab_size, model.parameter_count(), train.size(), val.size());
        AdamW optimizer(param_groups_for_weight_decay(model.named_parameters(), 0.1), {.lr = opt.lr, .beta2 = 0.99});
        const LmTrainResult r = train_language_model(model, optimizer, train, val, opt);
        Generator gen(7);
        fmt::print("\nsample:\n{}\n\n", generate(model, tokenizer, "\n", sample_tokens, {.temperature = 0.8, .top_k = 20}, gen));
        fmt::print("RESULT: validation loss {:.4f} nats/char after {} steps in {:.0f} s\n", r.val_loss, r.steps, r.seconds);
    } catch (const Error& e) {
        fmt::print(stderr, "error: {}\n", e.what());
        return 1;
    }
    return 0;
}
