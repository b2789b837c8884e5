// Token ids typed on the command line: "15496 995" (a prompt for a model without a vocabulary,
// or ids to decode).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/pretrained.hpp"
#include "io/text_tokenizer.hpp"

namespace tapegrad::cli {

// The whitespace-separated ids of `text`; ValueError "<option>: '<word>' is not a token id<why>"
// for a word that is not an integer in [0, 2^31).
std::vector<std::int32_t> parse_token_ids(const std::string& text, std::string_view option,
                                          std::string_view why = "");

// --prompt's ids: the text through the model's tokenizer, or, for a model without one, the ids
// typed (as `sample` and `attention` both read it).
std::vector<std::int32_t> prompt_ids(const std::optional<TextTokenizer>& tokenizer,
                                     const std::string& prompt);

// A token as a picture's label: its text with spaces, tabs and newlines drawn visibly ("␣", "⇥",
// "↵") and other control bytes escaped, or its id for a model without a tokenizer.
std::string token_label(const PretrainedGpt& model, std::int32_t id);

// --prompt read by a loaded model: its ids (1 to n_positions of them, else ValueError) and one
// label per token, as `attention`, `lens` and `report` show them.
struct PromptTokens {
    std::vector<std::int32_t> ids;
    std::vector<std::string> labels;
};
PromptTokens prompt_tokens(const PretrainedGpt& model, const std::string& prompt);

}  // namespace tapegrad::cli
