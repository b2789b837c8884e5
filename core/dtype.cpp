#include "core/dtype.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace tapegrad {

std::size_t dtype_size(DType dtype) {
    switch (dtype) {
        case DType::f32: return 4;
        case DType::f64: return 8;
        case DType::i32: return 4;
        case DType::b8: return 1;
        case DType::bf16:
            return 2;
    }
    return 0;
}

std::string_view dtype_name(DType dtype) {
    switch (dtype) {
        case DType::f32: return "f32";
        case DType::f64: return "f64";
        case DType::i32: return "i32";
        case DType::b8: return "b8";
        case DType::bf16:
            return "bf16";
    }
    return "?";
}

bool is_floating(DType dtype) { return dtype == DType::f32 || dtype == DType::f64; }

namespace detail {
void throw_not_floating(std::string_view op, DType dtype) {
    throw ValueError(fmt::format("{}: expected a floating tensor (f32 or f64), got {}", op,
                                 dtype_name(dtype)));
}
}  // namespace detail

}  // namespace tapegrad
