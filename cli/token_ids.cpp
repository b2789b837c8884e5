#include "cli/token_ids.hpp"

#include <fmt/format.h>

#include <charconv>
#include <sstream>

#include "core/error.hpp"

namespace tapegrad::cli {

std::vector<std::int32_t> parse_token_ids(const std::string& text, std::string_view option,
                                          std::string_view why) {
    std::istringstream in(text);
    std::vector<std::int32_t> ids;
    for (std::string word; in >> word;) {
        std::int32_t id = -1;
        const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), id);
        if (ec != std::errc() || end != word.data() + word.size() || id < 0)
            throw ValueError(fmt::format("{}: '{}' is not a token id{}", option, word, why));
        ids.push_back(id);
    }
    return ids;
}

std::vector<std::int32_t> prompt_ids(const std::optional<TextTokenizer>& tokenizer,
                                     const std::string& prompt) {
    if (tokenizer) return tokenizer->encode(prompt);
    return parse_token_ids(
        prompt, "--prompt",
        " (this model has no character vocabulary, so the prompt is a list of ids)");
}

namespace {

std::string visible(std::string_view text) {
    std::string out;
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        out += c == ' '                   ? "␣"
               : c == '\n'                ? "↵"
               : c == '\t'                ? "⇥"
               : byte < 32 || byte == 127 ? fmt::format("\\x{:02x}", byte)
                                          : std::string(1, c);
    }
    return out;
}

}  // namespace

std::string token_label(const PretrainedGpt& model, std::int32_t id) {
    return model.tokenizer ? visible(model.tokenizer->token_bytes(id)) : std::to_string(id);
}

PromptTokens prompt_tokens(const PretrainedGpt& model, const std::string& prompt) {
    PromptTokens p{.ids = prompt_ids(model.tokenizer, prompt)};
    const auto T = static_cast<std::int64_t>(p.ids.size());
    const std::int64_t longest = model.model->config().n_positions;
    if (T == 0 || T > longest)
        throw ValueError(fmt::format("--prompt: {} tokens, the model reads 1 to {}", T, longest));
    for (std::int32_t id : p.ids) p.labels.push_back(token_label(model, id));
    return p;
}

}  // namespace tapegrad::cli
