// 16-bit floats as files store them: IEEE half (F16: 1 sign, 5 exponent, 10 mantissa bits) and
// bfloat16 (BF16: float32's top 16 bits, 8 exponent and 7 mantissa bits). Widening to float32 is
// exact; narrowing rounds to nearest, ties to even, keeps the sign of zeros, turns overflow into
// ±infinity (F16 past 65504), keeps infinities, and keeps NaN a NaN (quiet, same sign).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tapegrad {

float bf16_to_float(std::uint16_t bits);
std::uint16_t float_to_bf16(float value);
// out[i] = float_to_bf16(in[i]) for i < n, in a loop the compiler can vectorise.
void floats_to_bf16(const float* in, std::size_t n, std::uint16_t* out);
float f16_to_float(std::uint16_t bits);
std::uint16_t float_to_f16(float value);

}  // namespace tapegrad
