// The one UTF-8 validator (core/utf8) and its two users: the strict JSON reader refuses a file
// at the first bad byte, the SVG writer escapes each bad byte as \xNN.
#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "core/utf8.hpp"
#include "viz/svg.hpp"

using namespace tapegrad;

TEST_CASE("utf8: valid sequences of every length pass, and the SVG writer keeps them") {
    const std::string_view valid[] = {
        "plain ascii",      "caf\xc3\xa9", "\xe6\xbc\xa2\xe5\xad\x97",
        "\xf0\x9f\x98\x80",  // U+1F600
        "\xed\x9f\xbf",      // U+D7FF, just below the surrogates
        "\xf4\x8f\xbf\xbf",  // U+10FFFF, the last code point
        "\xc2\x80",          // U+0080, the smallest two-byte form
    };
    for (std::string_view s : valid) {
        INFO("text: ", std::string(s));
        CHECK(invalid_utf8_at(s) == std::string_view::npos);
        CHECK(svg::xml_escape(s) == s);
    }
}

TEST_CASE("utf8: both users reject what either rejected before, at the same byte") {
    struct Row {
        std::string_view text;
        std::size_t bad_at;
        const char* why;
    };
    const Row rows[] = {
        {"ok\x80", 2, "a stray continuation byte"},
        {"\xc0\xaf", 0, "overlong two-byte form (C0)"},
        {"\xc1\xbf", 0, "overlong two-byte form (C1)"},
        {"\xe0\x80\xaf", 0, "overlong three-byte form"},
        {"\xf0\x80\x80\xaf", 0, "overlong four-byte form"},
        {"\xed\xa0\x80", 0, "a surrogate (U+D800)"},
        {"\xf4\x90\x80\x80", 0, "past U+10FFFF"},
        {"\xf5\x80\x80\x80", 0, "lead byte past F4"},
        {"\xff", 0, "not a lead byte"},
        {"ab\xc3", 2, "a two-byte sequence cut off"},
        {"\xe6\xbc", 0, "a three-byte sequence cut off"},
        {"\xc3(", 0, "a lead byte without its continuation"},
    };
    for (const Row& r : rows) {
        INFO(r.why);
        CHECK(invalid_utf8_at(r.text) == r.bad_at);
        CHECK(utf8_sequence_length(r.text, r.bad_at) == 0);
        const std::string escaped = svg::xml_escape(r.text);
        CHECK(escaped.find("\\x") != std::string::npos);
        CHECK(escaped.substr(0, r.bad_at) == r.text.substr(0, r.bad_at));
    }
}
