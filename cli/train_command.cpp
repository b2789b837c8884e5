// tapegrad train: a new GPT (--n-layer ...), one started from saved weights (--init DIR), or a
// resumed run (--resume DIR), trained on random windows keyed by (seed, step) (or --sampling
// sequential) with a warm-up + cosine schedule; checkpoints every --save-every steps and at the
// end.
#include <fmt/format.h>

#include <memory>
#include <optional>
#include <span>

#include "autograd/anomaly.hpp"
#include "cli/commands.hpp"
#include "cli/run_settings.hpp"
#include "cli/train_data.hpp"
#include "core/error.hpp"
#include "io/checkpoint.hpp"
#include "io/pretrained.hpp"
#include "optim/adam.hpp"
#include "optim/sgd.hpp"
#include "train/distributed.hpp"
#include "train/lm_train.hpp"

namespace tapegrad::cli {
namespace {

struct TrainArgs {
    std::string data, init, resume, save, metrics, tokenizer;
    GptConfig config{.vocab_size = 0, .n_positions = 128, .n_embd = 128, .n_layer = 4, .n_head = 4};
    RunSettings run;
    std::int64_t save_every = 0;
    std::string save_dtype = "f32";  // of the checkpoint's model.safetensors
    std::int64_t stop_at = 0;        // 0: run to --steps
    double time_limit = 0.0;
    std::int64_t health = 0;  // 0: no training-health numbers
    bool quiet = false;
    bool detect_anomaly = false;
};

FloatFormat float_format(const std::string& dtype) {
    return dtype == "f16"    ? FloatFormat::f16
           : dtype == "bf16" ? FloatFormat::bf16
                             : FloatFormat::as_is;
}

std::unique_ptr<Optimizer> make_optimizer(const Gpt& model, const RunSettings& r) {
    auto groups = param_groups_for_weight_decay(model.named_parameters(), r.weight_decay);
    if (r.optimizer == "sgd")
        return std::make_unique<SGD>(std::move(groups),
                                     SGDOptions{.lr = r.lr, .momentum = r.momentum});
    const AdamOptions options{.lr = r.lr, .beta1 = r.beta1, .beta2 = r.beta2};
    if (r.optimizer == "adam") return std::make_unique<Adam>(std::move(groups), options);
    return std::make_unique<AdamW>(std::move(groups), options);
}

// The model to train: resumed, initialised from a directory, or new; its tokenizer if it has one.
PretrainedGpt make_model(const TrainArgs& a) {
    if (!a.resume.empty()) {
        if (!is_checkpoint(a.resume))
            throw IoError(
                fmt::format("resume: {} is not a training checkpoint (no trainer.json and "
                            "optimizer.safetensors; use --init to start from a model)",
                            a.resume));
        return load_pretrained(a.resume);
    }
    PretrainedGpt pre = a.init.empty() ? PretrainedGpt{} : load_pretrained(a.init);
    if (!a.tokenizer.empty()) {
        if (pre.tokenizer)
            throw ValueError(fmt::format("--tokenizer: the model in {} has its own ({})", a.init,
                                         pre.tokenizer->describe()));
        pre.tokenizer = BpeTokenizer::load(a.tokenizer);
    }
    return pre;
}

void check_fits(const TrainArgs& a, const Gpt& model, const TrainData& data) {
    const GptConfig& c = model.config();
    if (data.tokenizer && data.tokenizer->bpe() && data.tokenizer->size() != c.vocab_size)
        throw ValueError(fmt::format("--tokenizer: {} tokens, but the model's vocab_size is {}",
                                     data.tokenizer->size(), c.vocab_size));
    if (data.vocab_size > c.vocab_size)
        throw ValueError(fmt::format("{}: token ids reach {}, past the model's vocab_size {}",
                                     a.data, data.vocab_size - 1, c.vocab_size));
    if (a.run.block_size > c.n_positions)
        throw ValueError(fmt::format("--block-size {} exceeds the model's n_positions {}",
                                     a.run.block_size, c.n_positions));
    const std::int64_t need = a.run.batch * a.run.block_size + 1;
    if (data.train.size() < need || data.val.size() < need)
        throw ValueError(fmt::format(
            "{}: {} training and {} validation tokens, but one batch needs {} "
            "(batch {} × block {} + 1); use a smaller --batch or --block-size",
            a.data, data.train.size(), data.val.size(), need, a.run.batch, a.run.block_size));
}

LmTrainOptions train_options(const TrainArgs& a, std::int64_t first_step) {
    const RunSettings& r = a.run;
    return {.batch = r.batch,
            .block_size = r.block_size,
            .steps = r.steps,
            .first_step = first_step,
            .sampling = parse_window_sampling(r.sampling),
            .seed = r.seed,
            .lr = r.lr,
            .min_lr = r.min_lr < 0 ? r.lr / 10 : r.min_lr,
            .warmup = std::min(r.warmup, r.steps - 1),
            .grad_clip = r.grad_clip,
            .eval_every = r.eval_every,
            .eval_batches = r.eval_batches,
            .time_limit = a.time_limit,
            .metrics_path = a.metrics,
            .health_every = a.health,
            .quiet = a.quiet,
            .precision = parse_precision(r.precision).value_or(Precision::fp32),
            .shards = r.shards};
}

// The loaded model, or a new one with --n-layer ... sized for the data.
Gpt& build_model(TrainArgs& a, PretrainedGpt& pre, const TrainData& data) {
    manual_seed(a.run.seed);
    if (!pre.model) {
        a.config.vocab_size = data.vocab_size;
        a.config.seed = a.run.seed;
        if (a.run.block_size > 0) a.config.n_positions = a.run.block_size;
        pre.model = std::make_unique<Gpt>(a.config);
    }
    if (a.run.block_size == 0) a.run.block_size = pre.model->config().n_positions;
    return *pre.model;
}

std::uint64_t fnv1a(std::span<const std::byte> bytes) {
    std::uint64_t h = 14695981039346656037ULL;
    for (std::byte b : bytes) h = (h ^ static_cast<std::uint64_t>(b)) * 1099511628211ULL;
    return h;
}

// Under mpirun every rank must run the same command on the same data (fit checks the rest).
void check_ranks_agree(const DataParallel& parallel, const TrainArgs& a, const Gpt& model,
                       const TrainData& data) {
    const GptConfig& c = model.config();
    const std::string settings =
        fmt::format("{} {} {} {} {} {} {}", to_json(a.run), c.n_layer, c.n_head, c.n_embd,
                    c.n_positions, c.vocab_size, c.dropout);
    parallel.expect_same("the run settings and model (a hash of them)",
                         fnv1a(std::as_bytes(std::span(settings))));
    parallel.expect_same("the training data (a hash of its tokens)",
                         fnv1a(std::as_bytes(std::span(data.train.tokens()))));
}

void print_start(const TrainArgs& a, const Gpt& model, std::int64_t first_step, int ranks) {
    const GptConfig& c = model.config();
    fmt::print(
        "tapegrad train: {} layers, {} heads, width {}, context {}, vocabulary {}, {} parameters; "
        "steps {}..{}, batch {}{}\n",
        c.n_layer, c.n_head, c.n_embd, a.run.block_size, c.vocab_size, model.parameter_count(),
        first_step, a.run.steps, a.run.batch,
        ranks > 1 ? fmt::format(" ({} ranks × {})", ranks, a.run.batch / ranks) : "");
    const PrecisionScope precision(*parse_precision(a.run.precision));  // what the run will use
    fmt::print("  {}\n", system_summary());
}

int run_train(TrainArgs& a) {
    set_detect_anomaly(a.detect_anomaly);
    DataParallel parallel;  // rank 0 of 1 unless started by mpirun
    const bool root = parallel.is_root();
    PretrainedGpt pre = make_model(a);
    TrainData data = load_train_data(a.data, pre.tokenizer, a.run.val_fraction);
    Gpt& model = build_model(a, pre, data);
    check_fits(a, model, data);
    std::unique_ptr<Optimizer> optimizer = make_optimizer(model, a.run);
    std::int64_t first_step = 0;
    if (!a.resume.empty()) first_step = load_training_state(a.resume, model, *optimizer).step;
    if (first_step >= a.run.steps)
        throw ValueError(
            fmt::format("resume: the checkpoint is at step {}, --steps {} leaves nothing to do",
                        first_step, a.run.steps));
    if (parallel.size() > 1) check_ranks_agree(parallel, a, model, data);
    const TextTokenizer* tokenizer = data.tokenizer ? &*data.tokenizer : nullptr;
    std::optional<std::int64_t> saved_step;  // of the newest checkpoint written by this run
    const auto save = [&](std::int64_t steps_done) {
        if (a.save.empty() || !root) return;  // one writer: rank 0
        save_checkpoint(a.save, model, tokenizer, *optimizer,
                        {.step = steps_done, .run_json = to_json(a.run)},
                        float_format(a.save_dtype));
        saved_step = steps_done;
    };
    if (!a.quiet && root) print_start(a, model, first_step, parallel.size());
    LmTrainOptions options = train_options(a, first_step);
    if (parallel.size() > 1) options.data_parallel = &parallel;
    LmTrainResult r;
    try {
        r = train_language_model(model, *optimizer, data.train, data.val, options,
                                 [&](std::int64_t step, double) {
                                     if (a.save_every > 0 && (step + 1) % a.save_every == 0)
                                         save(step + 1);
                                     return step + 1 != a.stop_at;
                                 });
    } catch (const Error& e) {  // a diverged run: say where the last good state is
        if (!saved_step) throw;
        throw ValueError(fmt::format("{}; the last good checkpoint, step {}, is in {}", e.what(),
                                     *saved_step, a.save));
    }
    save(first_step + r.steps);
    if (!root) return 0;
    fmt::print("trained steps {}..{} in {:.1f} s: loss {:.4f}, {}{}\n", first_step,
               first_step + r.steps, r.seconds, r.last_loss,
               r.val_loss ? fmt::format("validation loss {:.4f}", *r.val_loss) : "not validated",
               a.save.empty() ? "" : fmt::format("; saved {}", a.save));
    return 0;
}

}  // namespace

Command add_train_command(CLI::App& parent) {
    auto a = std::make_shared<TrainArgs>();
    CLI::App* c = parent.add_subcommand("train", "train a GPT on a text or llm.c token file");
    c->add_option("--data", a->data, "training text, or an llm.c token file (.bin)")
        ->required()
        ->check(CLI::ExistingFile);
    auto* init = c->add_option("--init", a->init, "start from the weights in this model directory")
                     ->check(CLI::ExistingDirectory);
    auto* resume = c->add_option("--resume", a->resume, "continue the run saved in this checkpoint")
                       ->check(CLI::ExistingDirectory)
                       ->excludes(init);
    for (auto* o : {c->add_option("--n-layer", a->config.n_layer, "blocks (new model)"),
                    c->add_option("--n-head", a->config.n_head, "attention heads (new model)"),
                    c->add_option("--n-embd", a->config.n_embd, "width (new model)")})
        o->check(CLI::PositiveNumber)->capture_default_str()->excludes(init)->excludes(resume);
    c->add_option("--dropout", a->config.dropout, "dropout rate (new model)")
        ->check(CLI::Range(0.0, 0.99))
        ->excludes(init)
        ->excludes(resume);
    add_run_options(*c, a->run);
    c->add_option("--tokenizer", a->tokenizer,
                  "tokenize the text with this GPT-2 BPE tokenizer (vocab.json + "
                  "merges.txt, or encoder.json + vocab.bpe); saved with the model")
        ->check(CLI::ExistingDirectory)
        ->excludes(resume);
    c->add_option("--save", a->save,
                  "write the checkpoint (model + optimizer + step) to this directory");
    c->add_option("--save-every", a->save_every, "also save every K steps")
        ->check(CLI::NonNegativeNumber);
    c->add_option("--save-dtype", a->save_dtype,
                  "f32, f16 or bf16: the checkpoint's model.safetensors (f16/bf16: half the "
                  "size; the float32 weights are kept beside it, so --resume stays exact)")
        ->check(CLI::IsMember({"f32", "f16", "bf16"}));
    c->add_option("--stop-at", a->stop_at,
                  "stop after this step; the schedule still ends at --steps, and "
                  "--resume continues")
        ->check(CLI::PositiveNumber);
    c->add_option("--metrics", a->metrics, "append metrics as JSON lines to this file");
    c->add_option("--health", a->health,
                  "every K steps add training-health numbers to --metrics (gradient, weight and "
                  "update norms, activations, attention entropy)")
        ->check(CLI::PositiveNumber)
        ->needs("--metrics");
    c->add_option("--time-limit", a->time_limit,
                  "stop after this many seconds; the cosine then ends by this "
                  "time whenever --steps would end it later")
        ->check(CLI::NonNegativeNumber);
    c->add_flag("--quiet", a->quiet, "no progress bar or validation lines");
    c->add_flag("--detect-anomaly", a->detect_anomaly,
                "check every op's output and gradient for NaN/Inf and name the first op that makes "
                "one (slower)");
    return {c, [a, c] {
                if (!a->resume.empty())
                    merge_saved_settings(*c, a->run, read_trainer_state(a->resume).run_json);
                return run_train(*a);
            }};
}

}  // namespace tapegrad::cli
