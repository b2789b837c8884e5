// A character-level GPT (GPT-2 style: token + learned position embeddings, pre-LN blocks, final
// LayerNorm, head tied to the token embedding, GELU tanh, biases) trained on a text file with
// fit() and its callbacks on random windows of the text (train/data.hpp), the last 10 % held out
// for validation. Prints the validation curve and a sample.
//   build/char_gpt ../shared/data/tinyshakespeare.txt --time-limit 600
//   build/char_gpt text.txt --checkpoints runs/gpt            # then --resume to continue
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <optional>
#include <sstream>

#include <tapegrad/core/error.hpp>
#include <tapegrad/optim/adam.hpp>
#include <tapegrad/optim/schedule.hpp>
#include <tapegrad/train/callbacks.hpp>
#include <tapegrad/train/fit.hpp>
#include <tapegrad/train/fit_checkpoint.hpp>
#include <tapegrad/train/lm_train.hpp>

using namespace tapegrad;

namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IoError(fmt::format("char_gpt: cannot open '{}'", path));
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

struct Settings {
    std::string text_path, metrics_path, checkpoint_root;
    bool resume = false, quiet = false;
    std::int64_t sample_tokens = 400, block_size = 128;
    std::string sampling = "random";
    double lr = 2e-3;
    FitOptions fit{.batch_size = 16,
                   .steps = 5000,
                   .validation_every = 250,
                   .validation_batches = 32,
                   .grad_clip = 1.0};
};

// fit() with the callbacks a long run wants; returns the result and leaves the model trained.
FitResult train(Gpt& model, const TokenData& train_tokens, const TokenData& val_tokens,
                Settings& s) {
    AdamW optimizer(param_groups_for_weight_decay(model.named_parameters(), 0.1),
                    {.lr = s.lr, .beta2 = 0.99});
    const TokenSource train_data(train_tokens, s.block_size,
                                 {.sampling = parse_window_sampling(s.sampling), .seed = 1337});
    const TokenSource val_data(val_tokens, s.block_size, {.sampling = WindowSampling::sequential});
    const WarmupCosineSchedule schedule({.lr = s.lr,
                                         .warmup_steps = 100,
                                         .decay_steps = std::max<std::int64_t>(s.fit.steps, 101),
                                         .min_lr = s.lr / 10});
    // With --time-limit the cosine follows whichever budget runs out first, steps or seconds, so
    // the learning rate has decayed when time is up on any machine.
    LrScheduler lr(schedule, {.follow_time_limit = true});
    NanGuard nan_guard;
    ProgressLogger progress({.quiet = s.quiet});
    MetricsLogger metrics(s.metrics_path);
    Callbacks callbacks{lr, nan_guard, progress, metrics};
    std::optional<Checkpoint> checkpoint;
    if (!s.checkpoint_root.empty()) {
        checkpoint.emplace(module_saver(model, optimizer),
                           CheckpointOptions{.root = s.checkpoint_root, .every = 500, .keep = 2});
        callbacks.push_back(*checkpoint);
        if (const auto latest = latest_checkpoint(s.checkpoint_root); latest && s.resume) {
            s.fit.initial_step = load_module_checkpoint(*latest, model, &optimizer);
            fmt::print("resuming from {} at step {}\n", latest->string(), s.fit.initial_step);
        }
    }
    s.fit.validation_data = &val_data;
    const BatchLoss loss = [&model](const Batch& b) { return model.loss(b.x, b.y); };
    const FitResult r = fit(model, loss, optimizer, train_data, s.fit, callbacks);
    if (nan_guard.triggered()) throw ValueError(fmt::format("char_gpt: {}", nan_guard.message()));
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app("Train a character-level GPT on a text file");
    Settings s;
    GptConfig config{.n_positions = 128, .n_embd = 128, .n_layer = 4, .n_head = 4, .seed = 1337};
    app.add_option("text", s.text_path, "training text (the last 10% is held out)")->required();
    app.add_option("--steps", s.fit.steps, "optimizer steps (the cosine schedule ends here)");
    app.add_option("--time-limit", s.fit.time_limit, "stop after this many seconds");
    app.add_option("--lr", s.lr, "peak learning rate");
    app.add_option("--batch", s.fit.batch_size, "sequences per step");
    app.add_option("--sampling", s.sampling, "random windows, or llm.c's sequential order")
        ->check(CLI::IsMember({"random", "sequential"}));
    app.add_option("--metrics", s.metrics_path, "append metrics as JSON lines to this file");
    app.add_option("--checkpoints", s.checkpoint_root,
                   "save a checkpoint every 500 steps under this directory");
    app.add_flag("--resume", s.resume, "continue from the newest checkpoint under --checkpoints");
    app.add_option("--sample", s.sample_tokens, "characters to sample at the end");
    app.add_flag("--quiet", s.quiet, "no progress bar");
    CLI11_PARSE(app, argc, argv);
    try {
        const std::string text = read_text(s.text_path);
        const CharTokenizer tokenizer = CharTokenizer::from_text(text);
        const auto [train_tokens, val_tokens] = TokenData(tokenizer.encode(text)).split(0.1);
        config.vocab_size = tokenizer.size();
        config.n_positions = s.block_size;
        Gpt model(config);
        fmt::print(
            "char GPT: {} layers, {} heads, width {}, context {}, vocabulary {}, {} parameters; "
            "{} training / {} validation characters\n",
            config.n_layer, config.n_head, config.n_embd, config.n_positions, config.vocab_size,
            model.parameter_count(), train_tokens.size(), val_tokens.size());
        const FitResult r = train(model, train_tokens, val_tokens, s);
        Generator gen(7);
        fmt::print("\nsample:\n{}\n\n", generate(model, tokenizer, "\n", s.sample_tokens,
                                                 {.temperature = 0.8, .top_k = 20}, gen));
        fmt::print("RESULT: validation loss {:.4f} nats/char after {} steps in {:.0f} s\n",
                   r.val_loss.value_or(NAN), r.end_step, r.seconds);
    } catch (const Error& e) {
        fmt::print(stderr, "error: {}\n", e.what());
        return 1;
    }
    return 0;
}
