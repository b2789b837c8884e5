#include "core/utf8.hpp"

namespace tapegrad {

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
    const auto lead = static_cast<unsigned char>(s[i]);
    if (lead < 0x80) return 1;
    if (lead < 0xC2 || lead > 0xF4) return 0;  // a continuation byte, C0/C1 (overlong), past F4
    const std::size_t len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    if (s.size() - i < len) return 0;
    // The second byte's range rules out overlong forms (E0, F0), surrogates (ED) and code points
    // past U+10FFFF (F4), per RFC 3629's table; later bytes are plain continuation bytes.
    unsigned char lo = 0x80, hi = 0xBF;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xED) hi = 0x9F;
    if (lead == 0xF4) hi = 0x8F;
    for (std::size_t k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if (b < lo || b > hi) return 0;
        lo = 0x80;
        hi = 0xBF;
    }
    return len;
}

std::size_t invalid_utf8_at(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t len = utf8_sequence_length(s, i);
        if (len == 0) return i;
        i += len;
    }
    return std::string_view::npos;
}

}  // namespace tapegrad
