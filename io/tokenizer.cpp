#include "io/tokenizer.hpp"

#include <fmt/format.h>

#include <array>

#include "core/error.hpp"

namespace tapegrad {

CharTokenizer CharTokenizer::from_text(std::string_view text) {
    std::array<bool, 256> seen{};
    for (char c : text) seen[static_cast<unsigned char>(c)] = true;
    std::string chars;
    for (int b = 0; b < 256; ++b)
        if (seen[b]) chars += static_cast<char>(b);
    return from_vocabulary(chars);
}

CharTokenizer CharTokenizer::from_vocabulary(std::string_view vocabulary) {
    CharTokenizer t;
    for (char c : vocabulary) {
        const auto b = static_cast<unsigned char>(c);
        if (t.ids_[b] != 0)
            throw ValueError(
                fmt::format("tokenizer: vocabulary repeats the character {:?}", std::string(1, c)));
        t.ids_[b] = static_cast<std::int32_t>(t.chars_.size()) + 1;
        t.chars_ += c;
    }
    return t;
}

std::vector<std::int32_t> CharTokenizer::encode(std::string_view text) const {
    std::vector<std::int32_t> out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const std::int32_t id = ids_[static_cast<unsigned char>(text[i])];
        if (id == 0)
            throw ValueError(fmt::format(
                "tokenizer: character {:?} (byte {}) at position {} is not in the vocabulary "
                "of {} characters",
                std::string(1, text[i]), static_cast<unsigned char>(text[i]), i, chars_.size()));
        out.push_back(id - 1);
    }
    return out;
}

std::string CharTokenizer::decode(const std::vector<std::int32_t>& ids) const {
    std::string out;
    out.reserve(ids.size());
    for (std::int32_t id : ids) {
        if (id < 0 || id >= size())
            throw ValueError(
                fmt::format("tokenizer: id {} is outside the vocabulary [0, {})", id, size()));
        out += chars_[static_cast<std::size_t>(id)];
    }
    return out;
}

}  // namespace tapegrad
