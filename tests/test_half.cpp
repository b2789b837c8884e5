// F16 and BF16 (core/half.hpp) by hand values and exhaustively, and as safetensors dtypes.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/half.hpp"
#include "io/safetensors.hpp"
#include "support.hpp"

using namespace tapegrad;

TEST_CASE("half: narrowing rounds to nearest even, keeps signs, infinities and NaN") {
    const float inf = std::numeric_limits<float>::infinity();
    struct Case {
        float value;
        std::uint16_t f16, bf16;
    };
    const Case cases[] = {
        {1.0f, 0x3C00, 0x3F80},
        {-2.0f, 0xC000, 0xC000},
        {-0.0f, 0x8000, 0x8000},
        {0.1f, 0x2E66, 0x3DCD},
        {1.0f + 0x1p-11f, 0x3C00, 0x3F80},      // F16 tie: down to even
        {1.0f + 3 * 0x1p-11f, 0x3C02, 0x3F80},  // F16 tie: up to even
        {1.0f + 0x1p-8f, 0x3C04, 0x3F80},       // BF16 tie: down to even
        {1.0f + 3 * 0x1p-8f, 0x3C0C, 0x3F82},   // BF16 tie: up to even
        {65504.0f, 0x7BFF, 0x4780},             // F16's largest
        {65519.0f, 0x7BFF, 0x4780},
        {65520.0f, 0x7C00, 0x4780},  // F16 rounds to infinity
        {0x1p-24f, 0x0001, 0x3380},  // F16's smallest subnormal
        {0x1p-25f, 0x0000, 0x3300},  // half of it: tie to even, zero
        {1.5f * 0x1p-25f, 0x0001, 0x3340},
        {3 * 0x1p-25f, 0x0002, 0x33C0},  // 1.5 units: tie up to even 2
        {0x1p-14f, 0x0400, 0x3880},      // F16's smallest normal
        {std::numeric_limits<float>::max(), 0x7C00, 0x7F80},
        {inf, 0x7C00, 0x7F80},
        {-inf, 0xFC00, 0xFF80},
    };
    for (const Case& c : cases) {
        INFO("value ", c.value);
        CHECK(float_to_f16(c.value) == c.f16);
        CHECK(float_to_bf16(c.value) == c.bf16);
    }
    const float nan = std::numeric_limits<float>::quiet_NaN();
    CHECK(std::isnan(f16_to_float(float_to_f16(nan))));
    CHECK(std::isnan(bf16_to_float(float_to_bf16(-nan))));
    CHECK(std::signbit(bf16_to_float(float_to_bf16(-nan))));
    CHECK(std::isnan(
        bf16_to_float(float_to_bf16(std::bit_cast<float>(0x7F800001u)))));  // low payload
    CHECK(f16_to_float(0x0001) == 0x1p-24f);
    CHECK(f16_to_float(0x7BFF) == 65504.0f);
    CHECK(std::signbit(f16_to_float(0x8000)));
}

TEST_CASE("half: every F16 and BF16 value widens exactly and narrows back to its own bits") {
    int checked = 0;
    for (std::uint32_t b = 0; b < 65536; ++b) {
        const auto bits = static_cast<std::uint16_t>(b);
        const float h = f16_to_float(bits), g = bf16_to_float(bits);
        if (!std::isnan(h)) {
            REQUIRE(float_to_f16(h) == bits);
            ++checked;
        }
        if (!std::isnan(g)) REQUIRE(float_to_bf16(g) == bits);
        // A float between two neighbours rounds to the nearer one (never skips one).
        if (!std::isnan(h) && !std::isinf(h) && h > 0 && b < 0x7BFF) {
            const float next = f16_to_float(static_cast<std::uint16_t>(b + 1));
            CHECK(float_to_f16(h + (next - h) * 0.25f) == bits);
            CHECK(float_to_f16(h + (next - h) * 0.75f) == b + 1);
        }
    }
    CHECK(checked == 65536 - 2 * 1023);  // all but the NaNs
}

TEST_CASE(
    "safetensors: F16 and BF16 read into float32 exactly and f32 is written as them on request") {
    // Hand-made: "h" F16 [3] = 1, -2, 2^-24 and "b" BF16 [2] = 1, -0.5.
    const std::string header = R"({"b":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},)"
                               R"("h":{"dtype":"F16","shape":[3],"data_offsets":[4,10]}})";
    std::vector<std::byte> bytes(8);
    bytes[0] = static_cast<std::byte>(header.size());
    for (char c : header) bytes.push_back(static_cast<std::byte>(c));
    for (std::uint16_t v : {0x3F80, 0xBF00, 0x3C00, 0xC000, 0x0001})
        bytes.push_back(static_cast<std::byte>(v & 0xFF)),
            bytes.push_back(static_cast<std::byte>(v >> 8));
    const SafetensorsFile f = parse_safetensors(bytes, "half.safetensors");
    CHECK(f.tensors.at("h").dtype() == f32);
    CHECK(f.tensors.at("h").to_vector() == std::vector<double>{1.0, -2.0, 0x1p-24});
    CHECK(f.tensors.at("b").to_vector() == std::vector<double>{1.0, -0.5});
    std::vector<std::byte> short_data = bytes;
    short_data.pop_back();
    test::check_throws_with<IoError>([&] { parse_safetensors(short_data, "half.safetensors"); },
                                     {"tensor 'h'", "run past the end"});

    const SafetensorsFile source{.tensors = {{"w", from({0.1, -3.0, 70000.0}, {3})},
                                             {"n", from({1.0}, {1}, {.dtype = f64})}}};
    for (FloatFormat floats : {FloatFormat::f16, FloatFormat::bf16}) {
        const std::vector<std::byte> written = serialize_safetensors(source, floats);
        CHECK(written.size() < serialize_safetensors(source).size());
        const SafetensorsFile back = parse_safetensors(written, "written");
        const std::vector<double> w = back.tensors.at("w").to_vector();
        if (floats == FloatFormat::f16)
            CHECK(w == std::vector<double>{f16_to_float(0x2E66), -3.0,
                                           std::numeric_limits<double>::infinity()});
        else
            CHECK(w == std::vector<double>{bf16_to_float(0x3DCD), -3.0, 70144.0});
        CHECK(back.tensors.at("n").dtype() == f64);  // only float32 narrows
    }
}
