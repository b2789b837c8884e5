#include "io/gpt2_pretokenizer.hpp"

#include <fmt/format.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <cstdint>

#include "core/error.hpp"

namespace tapegrad {
namespace {

enum class CharClass { letter, number, space, other };

CharClass classify(UChar32 c) {
    if (c < 0x80) {  // ASCII without a table lookup: most of any text
        if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return CharClass::letter;
        if (c >= '0' && c <= '9') return CharClass::number;
        if (c == ' ' || (c >= '\t' && c <= '\r')) return CharClass::space;
        return CharClass::other;
    }
    if (c < 0) return CharClass::other;  // a byte that is not UTF-8
    if (u_isUWhiteSpace(c)) return CharClass::space;
    switch (u_charType(c)) {
        case U_UPPERCASE_LETTER:
        case U_LOWERCASE_LETTER:
        case U_TITLECASE_LETTER:
        case U_MODIFIER_LETTER:
        case U_OTHER_LETTER:
            return CharClass::letter;
        case U_DECIMAL_DIGIT_NUMBER:
        case U_LETTER_NUMBER:
        case U_OTHER_NUMBER:
            return CharClass::number;
        default:
            return CharClass::other;
    }
}

// One character of the text: its class and where the next one starts.
struct Char {
    CharClass cls;
    std::int32_t end;
};

class Scanner {
public:
    explicit Scanner(std::string_view text)
        : s_(reinterpret_cast<const std::uint8_t*>(text.data())),
          n_(static_cast<std::int32_t>(text.size())) {}

    Char at(std::int32_t i) const {
        UChar32 c = 0;
        U8_NEXT(s_, i, n_, c);  // advances i past the character (or past an ill-formed byte run)
        return {classify(c), i};
    }
    // The end of the run of `cls` characters starting at i.
    std::int32_t run_end(std::int32_t i, CharClass cls) const {
        while (i < n_) {
            const Char c = at(i);
            if (c.cls != cls) break;
            i = c.end;
        }
        return i;
    }
    // 's 't 're 've 'm 'll 'd at i: the contraction's length, else 0.
    std::int32_t contraction(std::int32_t i) const {
        if (s_[i] != '\'' || i + 1 >= n_) return 0;
        const char a = static_cast<char>(s_[i + 1]);
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
        if (i + 2 >= n_) return 0;
        const char b = static_cast<char>(s_[i + 2]);
        return (a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l') ? 3 : 0;
    }
    // The end of the piece starting at i (< n).
    std::int32_t piece_end(std::int32_t i) const {
        if (const std::int32_t k = contraction(i)) return i + k;
        const std::int32_t body =
            s_[i] == ' ' ? i + 1 : i;  // " ?" before a letter/number/other run
        if (body < n_) {
            const Char c = at(body);
            if (c.cls != CharClass::space) return run_end(c.end, c.cls);
        }
        // \s+(?!\S) leaves the run's last character to start the next piece when one follows;
        // a lone space character before a non-space is \s+.
        const std::int32_t end = run_end(i, CharClass::space);
        if (end == n_) return end;
        std::int32_t last = i;
        for (std::int32_t j = i; j < end; j = at(j).end) last = j;
        return last > i ? last : end;
    }
    std::int32_t size() const { return n_; }

private:
    const std::uint8_t* s_;
    std::int32_t n_;
};

}  // namespace

std::vector<std::string_view> gpt2_pretokenize(std::string_view text) {
    if (text.size() > static_cast<std::size_t>(INT32_MAX))  // ICU's UTF-8 macros index with int32
        throw ValueError(
            fmt::format("gpt2_pretokenize: {} bytes is more than one call takes (2 GiB); "
                        "split the text",
                        text.size()));
    std::vector<std::string_view> pieces;
    const Scanner scan(text);
    for (std::int32_t i = 0; i < scan.size();) {
        const std::int32_t end = scan.piece_end(i);
        pieces.push_back(
            text.substr(static_cast<std::size_t>(i), static_cast<std::size_t>(end - i)));
        i = end;
    }
    return pieces;
}

}  // namespace tapegrad
