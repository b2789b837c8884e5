// GPT-2's pre-tokenizer: the text is cut into pieces before byte-pair merges, so merges never
// cross a piece. GPT-2 cuts with the regular expression
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// (the first alternative that matches at a position wins, each run as long as it can be). This is
// that expression as a scanner over UTF-8: letters and numbers are Unicode's general categories
// L and N (ICU), \s is Unicode's White_Space, and a byte that is not valid UTF-8 counts as one
// "other" character, so any bytes at all are cut, and the pieces joined give the input back.
#pragma once

#include <string_view>
#include <vector>

namespace tapegrad {

std::vector<std::string_view> gpt2_pretokenize(std::string_view text);

}  // namespace tapegrad
