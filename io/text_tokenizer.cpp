#include "io/text_tokenizer.hpp"

#include <fmt/format.h>

namespace tapegrad {

std::vector<std::int32_t> TextTokenizer::encode(std::string_view text) const {
    return std::visit([&](const auto& t) { return t.encode(text); }, v_);
}

std::string TextTokenizer::decode(const std::vector<std::int32_t>& ids) const {
    return std::visit([&](const auto& t) { return t.decode(ids); }, v_);
}

std::int64_t TextTokenizer::size() const {
    return std::visit([](const auto& t) { return t.size(); }, v_);
}

std::string TextTokenizer::token_bytes(std::int32_t id) const {
    if (const BpeTokenizer* b = bpe()) return b->token_bytes(id);
    return chars()->decode({id});
}

std::string TextTokenizer::describe() const {
    if (const BpeTokenizer* b = bpe())
        return fmt::format("GPT-2 byte-level BPE, {} tokens", b->size());
    return fmt::format("{} characters", chars()->size());
}

}  // namespace tapegrad
