// fmt formatter for Tensor: fmt::print("{}", t) prints values, shape and dtype like PyTorch.
#pragma once

#include <string>

#include <fmt/format.h>

#include "core/tensor.hpp"

namespace tapegrad {
std::string to_string(const Tensor& t);  // long tensors are summarised with "..."
}

template <>
struct fmt::formatter<tapegrad::Tensor> : fmt::formatter<std::string_view> {
    auto format(const tapegrad::Tensor& t, fmt::format_context& ctx) const -> decltype(ctx.out()) {
        return fmt::format_to(ctx.out(), "{}", tapegrad::to_string(t));
    }
};
