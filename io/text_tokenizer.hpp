// The tokenizer a model reads text with: characters (tapegrad's own, kept in config.json) or
// GPT-2's byte-level BPE (vocab.json + merges.txt beside config.json, as Hugging Face keeps it).
//   TextTokenizer chars(CharTokenizer::from_text(text)), gpt2(BpeTokenizer::load("gpt2/"));
//   gpt2.encode("Hello world")  // {15496, 995}
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "io/bpe_tokenizer.hpp"
#include "io/tokenizer.hpp"

namespace tapegrad {

class TextTokenizer {
public:
    TextTokenizer(CharTokenizer chars) : v_(std::move(chars)) {}  // NOLINT: either kind converts
    TextTokenizer(BpeTokenizer bpe) : v_(std::move(bpe)) {}       // NOLINT

    // Characters outside a character vocabulary are a ValueError; BPE takes any bytes.
    std::vector<std::int32_t> encode(std::string_view text) const;
    std::string decode(const std::vector<std::int32_t>& ids) const;
    std::int64_t size() const;
    std::string token_bytes(std::int32_t id) const;  // one token's text, for labels
    const CharTokenizer* chars() const { return std::get_if<CharTokenizer>(&v_); }
    const BpeTokenizer* bpe() const { return std::get_if<BpeTokenizer>(&v_); }
    std::string describe() const;  // "65 characters" or "GPT-2 byte-level BPE, 50257 tokens"

private:
    std::variant<CharTokenizer, BpeTokenizer> v_;
};

}  // namespace tapegrad
