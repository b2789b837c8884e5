#include "io/pretrained.hpp"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "io/atomic_directory.hpp"
#include "io/atomic_file.hpp"
#include "io/json_strict.hpp"
#include "io/safetensors.hpp"

namespace tapegrad {
namespace fs = std::filesystem;
namespace {

using json = nlohmann::json;

constexpr std::int64_t max_size = std::int64_t{1} << 31;  // beyond any model this engine can hold

class ConfigReader {
public:
    ConfigReader(const json& root, std::string_view file) : root_(root), file_(file) {}

    [[noreturn]] void fail(std::string_view key, std::string_view what) const {
        throw_io_error(file_, fmt::format("config: {} {}", key, what));
    }
    const json* find(std::string_view key) const {
        const auto it = root_.find(key);
        return it == root_.end() || it->is_null() ? nullptr : &*it;
    }
    std::int64_t size(std::string_view key, std::int64_t min) const {
        const json* v = find(key);
        if (!v) fail(key, "is missing");
        if (!v->is_number_integer() || v->get<std::int64_t>() < min ||
            v->get<std::int64_t>() > max_size)
            fail(key, fmt::format("must be an integer in [{}, {}] (got {})", min, max_size,
                                  short_dump(*v)));
        return v->get<std::int64_t>();
    }
    double number(std::string_view key, double fallback, double lo, double hi) const {
        const json* v = find(key);
        if (!v) return fallback;
        if (!v->is_number() || !(v->get<double>() >= lo && v->get<double>() <= hi))
            fail(key, fmt::format("must be a number in [{}, {}] (got {})", lo, hi, short_dump(*v)));
        return v->get<double>();
    }
    void expect_string(std::string_view key,
                       std::initializer_list<std::string_view> allowed) const {
        const json* v = find(key);
        if (!v) return;
        if (v->is_string())
            for (std::string_view a : allowed)
                if (v->get<std::string>() == a) return;
        fail(key, fmt::format("{} is not supported (expected {})", short_dump(*v),
                              fmt::join(allowed, " or ")));
    }

private:
    const json& root_;
    std::string_view file_;
};

std::optional<CharTokenizer> read_vocabulary(const ConfigReader& r, const json& root,
                                             std::int64_t vocab_size) {
    const auto own = root.find("tapegrad");
    if (own == root.end()) return std::nullopt;
    if (!own->is_object()) r.fail("tapegrad", "must be an object");
    const auto vocab = own->find("vocabulary");
    if (vocab == own->end()) return std::nullopt;
    if (!vocab->is_array() || vocab->empty() ||
        std::int64_t(vocab->size()) > std::min<std::int64_t>(vocab_size, 256))
        r.fail("tapegrad.vocabulary", fmt::format("must list 1 to min(vocab_size, 256) = {} bytes",
                                                  std::min<std::int64_t>(vocab_size, 256)));
    std::string chars;
    for (const json& b : *vocab) {
        if (!b.is_number_integer() || b.get<std::int64_t>() < 0 || b.get<std::int64_t>() > 255)
            r.fail("tapegrad.vocabulary",
                   fmt::format("entries must be bytes 0..255 (got {})", short_dump(b)));
        chars += static_cast<char>(b.get<int>());
    }
    try {
        return CharTokenizer::from_vocabulary(chars);
    } catch (const ValueError& e) {
        r.fail("tapegrad.vocabulary", e.what());
    }
}

// transformers' names -> ours; nullopt for entries we do not keep (mask buffers, the tied head).
std::optional<std::string> own_name(std::string name) {
    if (name.starts_with("transformer.")) name.erase(0, std::string_view("transformer.").size());
    if (name == "lm_head.weight" || name.ends_with(".attn.bias") ||
        name.ends_with(".attn.masked_bias"))
        return std::nullopt;
    return name;
}

}  // namespace

std::string gpt_config_json(const GptConfig& c, const CharTokenizer* tokenizer) {
    json j = {{"model_type", "gpt2"},
              {"architectures", {"GPT2LMHeadModel"}},
              {"vocab_size", c.vocab_size},
              {"n_positions", c.n_positions},
              {"n_ctx", c.n_positions},
              {"n_embd", c.n_embd},
              {"n_layer", c.n_layer},
              {"n_head", c.n_head},
              {"layer_norm_epsilon", c.layer_norm_epsilon},
              {"activation_function", "gelu_new"},
              {"resid_pdrop", c.dropout},
              {"embd_pdrop", c.dropout},
              {"attn_pdrop", c.dropout},
              {"tie_word_embeddings", true},
              {"torch_dtype", c.dtype == f64 ? "float64" : "float32"}};
    if (tokenizer) {
        json bytes = json::array();
        for (char ch : tokenizer->vocabulary()) bytes.push_back(static_cast<unsigned char>(ch));
        j["tapegrad"] = {{"tokenizer", "char"}, {"vocabulary", bytes}};
    }
    return j.dump(2) + "\n";
}

GptFileConfig parse_gpt_config(std::string_view text, std::string_view file) {
    const json root = parse_json_strict(text, {.file = file, .what = "config", .max_depth = 2});
    if (!root.is_object()) throw_io_error(file, "config: not a JSON object");
    const ConfigReader r(root, file);
    r.expect_string("model_type", {"gpt2"});
    r.expect_string("activation_function", {"gelu_new", "gelu_pytorch_tanh"});
    if (const json* tie = r.find("tie_word_embeddings"); tie && *tie != json(true))
        r.fail("tie_word_embeddings", "must be true: the output head is the token embedding");
    GptFileConfig out;
    GptConfig& c = out.config;
    c.vocab_size = r.size("vocab_size", 1);
    c.n_positions = r.size("n_positions", 1);
    c.n_embd = r.size("n_embd", 1);
    c.n_layer = r.size("n_layer", 0);
    c.n_head = r.size("n_head", 1);
    if (c.n_embd % c.n_head != 0)
        r.fail("n_embd", fmt::format("({}) must be divisible by n_head ({})", c.n_embd, c.n_head));
    c.layer_norm_epsilon = r.number("layer_norm_epsilon", 1e-5, 1e-30, 1.0);
    c.dropout = r.number("resid_pdrop", 0.0, 0.0, 0.999);
    out.tokenizer = read_vocabulary(r, root, c.vocab_size);
    return out;
}

void write_pretrained_files(const fs::path& dir, const Gpt& model, const TextTokenizer* tokenizer,
                            FloatFormat weights) {
    const std::string config =
        gpt_config_json(model.config(), tokenizer ? tokenizer->chars() : nullptr);
    write_file_atomic(dir / "config.json", std::as_bytes(std::span(config)));
    if (tokenizer && tokenizer->bpe()) tokenizer->bpe()->save(dir);
    SafetensorsFile file{.tensors = model.state_dict(), .metadata = {{"format", "pt"}}};
    save_safetensors(dir / "model.safetensors", file, weights);
}

void save_pretrained(const fs::path& dir, const Gpt& model, const TextTokenizer* tokenizer,
                     FloatFormat weights) {
    write_directory_atomic(dir, [&](const fs::path& staging) {
        write_pretrained_files(staging, model, tokenizer, weights);
    });
}

void load_pretrained_weights(const fs::path& dir, Gpt& model, std::string_view file) {
    const fs::path path = dir / file;
    StateDict state;
    for (auto& [name, tensor] : load_safetensors(path).tensors)
        if (const auto own = own_name(name)) {
            if (tensor.dtype() != f32 && tensor.dtype() != f64)
                throw_io_error(path.string(), fmt::format("tensor '{}' is {}, not a float", name,
                                                          dtype_name(tensor.dtype())));
            if (!state.emplace(*own, tensor).second)
                throw_io_error(
                    path.string(),
                    fmt::format("tensor '{}' appears twice (with and without 'transformer.')",
                                *own));
        }
    try {
        model.load_state_dict(state);
    } catch (const Error& e) {
        throw_io_error(path.string(), fmt::format("does not fit config.json: {}", e.what()));
    }
}

PretrainedGpt load_pretrained(const fs::path& dir, DType dtype) {
    const fs::path config_path = dir / "config.json";
    const std::vector<std::byte> bytes = read_file(config_path);
    GptFileConfig file = parse_gpt_config(
        {reinterpret_cast<const char*>(bytes.data()), bytes.size()}, config_path.string());
    file.config.dtype = dtype;
    PretrainedGpt out{.model = std::make_unique<Gpt>(file.config)};
    if (BpeTokenizer::present(dir)) {
        if (file.tokenizer)
            throw_io_error(config_path.string(),
                           "config: a character vocabulary beside BPE tokenizer files; keep one");
        BpeTokenizer bpe = BpeTokenizer::load(dir);
        if (bpe.size() != file.config.vocab_size)
            throw_io_error(
                dir.string(),
                fmt::format("the BPE tokenizer has {} tokens, the model's vocab_size is {}",
                            bpe.size(), file.config.vocab_size));
        out.tokenizer = std::move(bpe);
    } else if (file.tokenizer) {
        out.tokenizer = std::move(*file.tokenizer);
    }
    load_pretrained_weights(dir, *out.model);
    return out;
}

}  // namespace tapegrad
