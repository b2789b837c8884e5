// Hugging Face GPT-2 directories, training checkpoints and bit-exact resume.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>

#include "core/half.hpp"
#include "io/atomic_directory.hpp"
#include "io/atomic_file.hpp"
#include "io/checkpoint.hpp"
#include "io/pretrained.hpp"
#include "io/safetensors.hpp"
#include "optim/adam.hpp"
#include "optim/sgd.hpp"
#include "support.hpp"
#include "train/lm_train.hpp"

using namespace tapegrad;
namespace fs = std::filesystem;
using test::check_throws_with;

namespace {

const GptConfig small{.vocab_size = 7,
                      .n_positions = 8,
                      .n_embd = 8,
                      .n_layer = 2,
                      .n_head = 2,
                      .dropout = 0.1,
                      .seed = 3};

// Every element bit for bit: resume must not drift even by one ulp.
bool same_bits(const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() && a.dtype() == b.dtype() &&
           std::memcmp(a.raw_data(), b.raw_data(),
                       static_cast<std::size_t>(a.numel()) * dtype_size(a.dtype())) == 0;
}

bool same_state(const StateDict& a, const StateDict& b) {
    if (a.size() != b.size()) return false;
    for (const auto& [name, t] : a)
        if (!b.contains(name) || !same_bits(t, b.at(name))) return false;
    return true;
}

TokenData cyclic_tokens(std::int64_t n) {
    std::vector<std::int32_t> t;
    for (std::int64_t i = 0; i < n; ++i)
        t.push_back(static_cast<std::int32_t>((i * i + i / 3) % 7));
    return TokenData(t);
}

LmTrainOptions steps_options(std::int64_t first, std::int64_t end, Precision precision) {
    return {.batch = 2,
            .block_size = 8,
            .steps = end,
            .first_step = first,
            .lr = 1e-2,
            .min_lr = 1e-3,
            .warmup = 2,
            .grad_clip = 1.0,
            .eval_every = 0,
            .eval_batches = 1,
            .quiet = true,
            .precision = precision};
}

constexpr std::int64_t total_steps = 7;  // the schedule's length in every run

// Losses of steps [first, stop) of a 7-step run of a dropout GPT with AdamW.
std::vector<double> run_steps(Gpt& model, Optimizer& opt, std::int64_t first, std::int64_t stop,
                              Precision precision) {
    std::vector<double> losses;
    const TokenData data = cyclic_tokens(400);
    train_language_model(model, opt, data, data, steps_options(first, total_steps, precision),
                         [&](std::int64_t step, double loss) {
                             losses.push_back(loss);
                             return step + 1 < stop;
                         });
    return losses;
}

AdamW make_adamw(const Gpt& model) {
    return AdamW(param_groups_for_weight_decay(model.named_parameters(), 0.1), {.lr = 1e-2});
}

}  // namespace

TEST_CASE("pretrained: save and load keep config, tokenizer and every weight") {
    const fs::path dir = test::scratch_dir("pretrained_roundtrip") / "model";
    Gpt model(small);
    const CharTokenizer tok = CharTokenizer::from_text("abc\n xy");
    const TextTokenizer text(tok);
    save_pretrained(dir, model, &text);
    const PretrainedGpt back = load_pretrained(dir);
    CHECK(back.model->config().n_embd == 8);
    CHECK(back.model->config().n_layer == 2);
    CHECK(back.model->config().dropout == doctest::Approx(0.1));
    REQUIRE(back.tokenizer);
    REQUIRE(back.tokenizer->chars());
    CHECK(back.tokenizer->chars()->vocabulary() == tok.vocabulary());
    CHECK(same_state(back.model->state_dict(), model.state_dict()));
    const PretrainedGpt as_f64 = load_pretrained(dir, f64);
    CHECK(as_f64.model->state_dict().at("wte.weight").dtype() == f64);
}

TEST_CASE("pretrained: the files use GPT-2's names, shapes and config keys") {
    const fs::path dir = test::scratch_dir("pretrained_names") / "model";
    Gpt model(small);
    save_pretrained(dir, model, nullptr);
    const SafetensorsFile f = load_safetensors(dir / "model.safetensors");
    CHECK(f.tensors.at("wte.weight").shape() == Shape{7, 8});
    CHECK(f.tensors.at("h.1.attn.c_attn.weight").shape() == Shape{8, 24});
    CHECK(f.tensors.at("h.0.mlp.c_proj.weight").shape() == Shape{32, 8});
    CHECK(f.tensors.at("ln_f.bias").shape() == Shape{8});
    CHECK(f.tensors.size() == 4 + 2 * 12);
    const std::vector<std::byte> bytes = read_file(dir / "config.json");
    const std::string config(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    for (const char* key :
         {"\"model_type\": \"gpt2\"", "\"n_embd\": 8", "\"n_head\": 2", "\"n_layer\": 2",
          "\"n_positions\": 8", "\"vocab_size\": 7", "\"layer_norm_epsilon\""})
        CHECK_MESSAGE(config.find(key) != std::string::npos, key);
    CHECK_FALSE(load_pretrained(dir).tokenizer);
}

TEST_CASE("pretrained: loads what transformers writes (prefix, tied lm_head, mask buffers)") {
    const fs::path dir = test::scratch_dir("pretrained_hf") / "model";
    Gpt model(small);
    save_pretrained(dir, model, nullptr);
    SafetensorsFile f = load_safetensors(dir / "model.safetensors");
    SafetensorsFile hf;
    for (auto& [name, t] : f.tensors)
        hf.tensors["transformer." + name] = t.to(f64);  // F64 on disk too
    hf.tensors["lm_head.weight"] = f.tensors.at("wte.weight");
    hf.tensors["transformer.h.0.attn.bias"] = zeros({1, 1, 8, 8});
    hf.tensors["transformer.h.0.attn.masked_bias"] = zeros({});
    save_safetensors(dir / "model.safetensors", hf);
    CHECK(same_state(load_pretrained(dir).model->state_dict(), model.state_dict()));
}

TEST_CASE("pretrained: a missing, extra or misshapen tensor is rejected by name") {
    const fs::path dir = test::scratch_dir("pretrained_bad") / "model";
    Gpt model(small);
    save_pretrained(dir, model, nullptr);
    SafetensorsFile f = load_safetensors(dir / "model.safetensors");
    SafetensorsFile missing = f;
    missing.tensors.erase("h.1.ln_2.bias");
    save_safetensors(dir / "model.safetensors", missing);
    check_throws_with<IoError>([&] { load_pretrained(dir); },
                               {"model.safetensors", "'h.1.ln_2.bias' is missing"});
    SafetensorsFile misshapen = f;
    misshapen.tensors["wpe.weight"] = zeros({9, 8});
    save_safetensors(dir / "model.safetensors", misshapen);
    check_throws_with<IoError>([&] { load_pretrained(dir); }, {"'wpe.weight'", "[8,8]", "[9,8]"});
    fs::remove(dir / "config.json");
    check_throws_with<IoError>([&] { load_pretrained(dir); }, {"config.json", "cannot open"});
}

namespace {

// What load_pretrained reads back from a narrowed model.safetensors: each weight rounded.
float narrowed(float x, FloatFormat weights) {
    return weights == FloatFormat::f16 ? f16_to_float(float_to_f16(x))
                                       : bf16_to_float(float_to_bf16(x));
}

// A narrowed checkpoint's model.safetensors holds F16 or BF16 only, and loads as the rounded
// weights of `model`; the float32 ones are in master_weights.safetensors.
void check_narrowed_files(const fs::path& dir, const Gpt& model, FloatFormat weights) {
    const std::vector<std::byte> bytes = read_file(dir / "model.safetensors");
    const std::string head(reinterpret_cast<const char*>(bytes.data()),
                           std::min<std::size_t>(bytes.size(), 4096));
    CHECK(head.find(weights == FloatFormat::f16 ? R"("F16")" : R"("BF16")") != std::string::npos);
    CHECK(head.find(R"("F32")") == std::string::npos);
    const Tensor saved = load_pretrained(dir).model->state_dict().at("wte.weight");
    const Tensor original = model.state_dict().at("wte.weight");
    for (std::int64_t i = 0; i < original.numel(); ++i)
        CHECK(saved.data<float>()[i] == narrowed(original.data<float>()[i], weights));
    CHECK(fs::exists(dir / "master_weights.safetensors"));
}

// N steps, save with model files in `weights`, resume M steps: the losses, the weights and the
// optimizer state equal N+M uninterrupted steps' bit for bit.
void check_resume_bit_exact(Precision precision, FloatFormat weights) {
    manual_seed(11);
    Gpt straight(small);
    AdamW straight_opt = make_adamw(straight);
    const std::vector<double> all = run_steps(straight, straight_opt, 0, 7, precision);

    manual_seed(11);
    Gpt first(small);
    AdamW first_opt = make_adamw(first);
    const std::vector<double> head = run_steps(first, first_opt, 0, 4, precision);
    const fs::path dir = test::scratch_dir("checkpoint_resume") / "ckpt";
    save_checkpoint(dir, first, nullptr, first_opt, {.step = 4, .run_json = R"({"batch":2})"},
                    weights);
    manual_seed(999);  // whatever happens in between must not matter
    if (weights != FloatFormat::as_is)
        check_narrowed_files(dir, first, weights);
    else
        for (const auto& [name, t] : load_safetensors(dir / "model.safetensors").tensors) {
            INFO(name);  // bf16 runs keep float32 master weights, and save them
            CHECK(t.dtype() == f32);
        }

    PretrainedGpt resumed = load_pretrained(dir);
    AdamW resumed_opt = make_adamw(*resumed.model);
    const TrainerState state = load_training_state(dir, *resumed.model, resumed_opt);
    CHECK(state.step == 4);
    CHECK(state.run_json == R"({"batch":2})");
    const std::vector<double> tail = run_steps(*resumed.model, resumed_opt, 4, 7, precision);

    std::vector<double> joined = head;
    joined.insert(joined.end(), tail.begin(), tail.end());
    REQUIRE(joined.size() == all.size());
    for (std::size_t i = 0; i < all.size(); ++i) {
        INFO("step ", i);
        CHECK(std::memcmp(&joined[i], &all[i], sizeof(double)) == 0);
    }
    CHECK(same_state(resumed.model->state_dict(), straight.state_dict()));
    CHECK(same_state(resumed_opt.state_dict(), straight_opt.state_dict()));
}

}  // namespace

TEST_CASE("checkpoint: N steps, save, resume M steps equals N+M steps bit for bit") {
    check_resume_bit_exact(Precision::fp32, FloatFormat::as_is);
}

TEST_CASE("checkpoint: model files saved as F16 or BF16 still resume bit for bit") {
    check_resume_bit_exact(Precision::fp32, FloatFormat::f16);
    check_resume_bit_exact(Precision::fp32, FloatFormat::bf16);
}

TEST_CASE(
    "checkpoint: in bf16 mixed precision the weights saved are float32 and resume bit for bit") {
    check_resume_bit_exact(Precision::bf16, FloatFormat::as_is);
}

TEST_CASE("checkpoint: dropout generators are saved, so masks continue where they stopped") {
    Gpt model(small);
    auto gens = model.named_generators();
    CHECK(gens.size() == 1 + 3 * 2);  // drop + per block attn_dropout, resid_dropout, mlp dropout
    CHECK(gens.front().first == "drop.generator");
    Gpt other({.vocab_size = 7,
               .n_positions = 8,
               .n_embd = 8,
               .n_layer = 2,
               .n_head = 2,
               .dropout = 0.1,
               .seed = 4});
    SGD opt(model.parameters(), {.lr = 0.1});
    const fs::path dir = test::scratch_dir("checkpoint_generators") / "ckpt";
    save_checkpoint(dir, model, nullptr, opt, {});
    SGD other_opt(other.parameters(), {.lr = 0.1});
    load_training_state(dir, other, other_opt);
    auto mine = model.named_generators();
    auto theirs = other.named_generators();
    for (std::size_t i = 0; i < mine.size(); ++i)
        CHECK(mine[i].second->state() == theirs[i].second->state());
}

TEST_CASE("checkpoint: resuming with another optimizer or a plain model directory is refused") {
    Gpt model(small);
    AdamW adamw = make_adamw(model);
    const fs::path root = test::scratch_dir("checkpoint_mismatch");
    save_checkpoint(root / "ckpt", model, nullptr, adamw, {.step = 1});
    SGD sgd(model.parameters(), {.lr = 0.1});
    check_throws_with<ValueError>([&] { load_training_state(root / "ckpt", model, sgd); },
                                  {"trained with AdamW, not SGD"});
    save_pretrained(root / "plain", model, nullptr);
    CHECK(is_checkpoint(root / "ckpt"));
    CHECK_FALSE(is_checkpoint(root / "plain"));
    check_throws_with<IoError>([&] { load_training_state(root / "plain", model, adamw); },
                               {"trainer.json"});
}

TEST_CASE("atomic directory: a failed save leaves the old directory whole and no staging behind") {
    const fs::path root = test::scratch_dir("atomic_dir");
    const fs::path dir = root / "out";
    const auto write = [](const fs::path& d, const std::string& name, const std::string& text) {
        write_file_atomic(d / name, std::as_bytes(std::span(text)));
    };
    write_directory_atomic(dir, [&](const fs::path& s) {
        write(s, "a.txt", "old a");
        write(s, "b.txt", "old b");
    });
    CHECK_THROWS_AS(write_directory_atomic(dir,
                                           [&](const fs::path& s) {
                                               write(s, "a.txt", "new a");
                                               throw IoError("disk gone");
                                           }),
                    IoError);
    const auto text = [](const fs::path& p) {
        const std::vector<std::byte> b = read_file(p);
        return std::string(reinterpret_cast<const char*>(b.data()), b.size());
    };
    CHECK(text(dir / "a.txt") == "old a");
    CHECK(text(dir / "b.txt") == "old b");
    write_directory_atomic(dir, [&](const fs::path& s) { write(s, "a.txt", "new a"); });
    CHECK(text(dir / "a.txt") == "new a");
    CHECK_FALSE(fs::exists(dir / "b.txt"));  // the new directory replaces the old one entirely
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(root)) ++entries;
    CHECK(entries == 1);  // only "out": no staging or old copies left behind
}
