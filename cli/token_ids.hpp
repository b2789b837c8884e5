// Token ids typed on the command line: "15496 995" (a prompt for a model without a vocabulary,
// or ids to decode).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tapegrad::cli {

// The whitespace-separated ids of `text`; ValueError "<option>: '<word>' is not a token id<why>"
// for a word that is not an integer in [0, 2^31).
std::vector<std::int32_t> parse_token_ids(const std::string& text, std::string_view option,
                                          std::string_view why = "");

// The `why` for a prompt given to a model without a character vocabulary.
inline constexpr std::string_view prompt_of_ids =
    " (this model has no character vocabulary, so the prompt is a list of ids)";

}  // namespace tapegrad::cli
