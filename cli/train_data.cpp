#include "cli/train_data.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "io/token_file.hpp"

namespace tapegrad::cli {
namespace {

constexpr std::int32_t token_file_magic = 20240520;

bool is_token_file(const std::vector<std::byte>& bytes) {
    std::int32_t magic = 0;
    if (bytes.size() < sizeof magic) return false;
    std::memcpy(&magic, bytes.data(), sizeof magic);
    return magic == token_file_magic;
}

std::vector<std::int32_t> encode_text(const std::string_view text, const TextTokenizer& tokenizer,
                                      const std::filesystem::path& path) {
    try {
        return tokenizer.encode(text);
    } catch (const ValueError& e) {
        throw ValueError(fmt::format("{}: the text does not fit the model's vocabulary: {}",
                                     path.string(), e.what()));
    }
}

}  // namespace

TrainData load_train_data(const std::filesystem::path& path,
                          const std::optional<TextTokenizer>& tokenizer, double val_fraction) {
    const std::vector<std::byte> bytes = read_file(path);
    TrainData out;
    std::vector<std::int32_t> tokens;
    if (is_token_file(bytes)) {
        tokens = parse_token_file(bytes, path.string());
        out.vocab_size = tokens.empty() ? 0 : *std::max_element(tokens.begin(), tokens.end()) + 1;
    } else {
        const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        out.tokenizer = tokenizer ? *tokenizer : TextTokenizer(CharTokenizer::from_text(text));
        tokens = encode_text(text, *out.tokenizer, path);
        out.vocab_size = out.tokenizer->size();
    }
    if (tokens.size() < 2)
        throw ValueError(fmt::format("{}: {} tokens is too little data to train on", path.string(),
                                     tokens.size()));
    auto [train, val] = TokenData(std::move(tokens)).split(val_fraction);
    out.train = std::move(train);
    out.val = std::move(val);
    return out;
}

}  // namespace tapegrad::cli
