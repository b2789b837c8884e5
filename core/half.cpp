#include "core/half.hpp"

#include <bit>

namespace tapegrad {

float bf16_to_float(std::uint16_t bits) { return std::bit_cast<float>(std::uint32_t{bits} << 16); }

std::uint16_t float_to_bf16(float value) {
    const auto u = std::bit_cast<std::uint32_t>(value);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u)  // NaN: keep sign and top payload bits, force quiet
        return static_cast<std::uint16_t>((u >> 16) | 0x0040u);
    // Round to nearest even on the 16 bits dropped; a carry may reach the exponent (up to inf).
    const std::uint32_t rounding = 0x7FFFu + ((u >> 16) & 1u);
    return static_cast<std::uint16_t>((u + rounding) >> 16);
}

void floats_to_bf16(const float* in, std::size_t n, std::uint16_t* out) {
    for (std::size_t i = 0; i < n; ++i) out[i] = float_to_bf16(in[i]);
}

float f16_to_float(std::uint16_t bits) {
    const std::uint32_t sign = std::uint32_t{bits & 0x8000u} << 16;
    const std::uint32_t exponent = (bits >> 10) & 0x1Fu, mantissa = bits & 0x3FFu;
    if (exponent == 0x1F)  // infinity or NaN (payload kept)
        return std::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));
    if (exponent != 0)  // normal: rebias 15 -> 127
        return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
    // zero or subnormal: mantissa · 2^-24, exact in float32
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    return sign ? -magnitude : magnitude;
}

std::uint16_t float_to_f16(float value) {
    const auto u = std::bit_cast<std::uint32_t>(value);
    const auto sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
    const std::uint32_t abs = u & 0x7FFFFFFFu;
    if (abs > 0x7F800000u)  // NaN: quiet, top payload bits kept
        return static_cast<std::uint16_t>(sign | 0x7E00u | ((abs >> 13) & 0x3FFu));
    if (abs >= 0x477FF000u) return sign | 0x7C00u;  // rounds past 65504 (or is inf): infinity
    if (abs < 0x38800000u) {  // below 2^-14: a subnormal (or zero) result, in units of 2^-24
        // (1.mantissa · 2^e) / 2^-24 with round to nearest even, done on the integer mantissa.
        const int shift = 126 - static_cast<int>(abs >> 23);  // bits to drop below 2^-24
        if (shift > 24) return sign;                          // less than half of 2^-24
        const std::uint32_t m = (abs & 0x7FFFFFu) | 0x800000u;
        const std::uint32_t kept = m >> shift, rest = m & ((1u << shift) - 1),
                            half = 1u << (shift - 1);
        return static_cast<std::uint16_t>(sign |
                                          (kept + (rest > half || (rest == half && (kept & 1u)))));
    }
    // normal: rebias 127 -> 15, round the 13 dropped bits to nearest even (a carry is fine)
    const std::uint32_t rebased = abs - (112u << 23);
    const std::uint32_t rounding = 0xFFFu + ((rebased >> 13) & 1u);
    return static_cast<std::uint16_t>(sign | ((rebased + rounding) >> 13));
}

}  // namespace tapegrad
