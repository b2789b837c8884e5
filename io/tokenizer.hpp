// Character-level tokenizer: the vocabulary is the sorted set of distinct bytes of the training
// text, so ids are stable for a given text and the vocabulary is kept with the model.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tapegrad {

class CharTokenizer {
public:
    CharTokenizer() = default;
    static CharTokenizer from_text(std::string_view text);
    // From a saved vocabulary: its characters in id order (what vocabulary() returns).
    static CharTokenizer from_vocabulary(std::string_view vocabulary);

    std::int64_t size() const { return static_cast<std::int64_t>(chars_.size()); }
    const std::string& vocabulary() const { return chars_; }
    // Unknown characters are a ValueError naming the character and its position.
    std::vector<std::int32_t> encode(std::string_view text) const;
    std::string decode(const std::vector<std::int32_t>& ids) const;

private:
    std::string chars_;        // id -> character
    std::int32_t ids_[256]{};  // character -> id + 1 (0 = not in the vocabulary)
};

}  // namespace tapegrad
