// UTF-8 validation (RFC 3629), shared by the strict JSON reader and the SVG writer's escaping.
#pragma once

#include <cstddef>
#include <string_view>

namespace tapegrad {

// Length (1 to 4) of the valid UTF-8 sequence starting at s[i], or 0 when the bytes there are not
// one: a stray continuation byte, a bad lead byte, an overlong form, a surrogate, a code point past
// U+10FFFF, or a sequence cut off by the end of s.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

// Offset of the first byte that starts no valid sequence, or npos when all of s is valid UTF-8.
std::size_t invalid_utf8_at(std::string_view s);

}  // namespace tapegrad
