// Element types a tensor can hold, and the one place that turns a dtype into a C++ type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace tapegrad {

// f32 trains, f64 gradchecks; i32 holds token ids and targets, b8 holds masks (1 = keep). bf16 is
// storage only: the bfloat16 copies of a product's operands that bf16 mixed precision keeps for
// backward (core/precision.hpp); no op computes on it, and x.to(f32) widens it exactly.
enum class DType : std::uint8_t { f32, f64, i32, b8, bf16 };
inline constexpr DType f32 = DType::f32;
inline constexpr DType f64 = DType::f64;
inline constexpr DType i32 = DType::i32;
inline constexpr DType b8 = DType::b8;
inline constexpr DType bf16 = DType::bf16;

std::size_t dtype_size(DType dtype);
std::string_view dtype_name(DType dtype);
bool is_floating(DType dtype);

template <class T>
constexpr DType dtype_of() {
    if constexpr (std::is_same_v<T, float>) return f32;
    else if constexpr (std::is_same_v<T, double>) return f64;
    else if constexpr (std::is_same_v<T, std::int32_t>) return i32;
    else if constexpr (std::is_same_v<T, std::uint16_t>)
        return bf16;  // bf16's bits
    else {
        static_assert(std::is_same_v<T, std::uint8_t>, "unsupported element type");
        return b8;
    }
}

namespace detail {
[[noreturn]] void throw_not_floating(std::string_view op, DType dtype);
}

// Calls fn.template operator()<T>() with T = float or double; other dtypes are an error.
template <class Fn>
decltype(auto) dispatch(std::string_view op, DType dtype, Fn&& fn) {
    switch (dtype) {
        case DType::f32: return fn.template operator()<float>();
        case DType::f64: return fn.template operator()<double>();
        default: detail::throw_not_floating(op, dtype);
    }
}

}  // namespace tapegrad
