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

}  // namespace tapegrad::cli
