#include "core/format.hpp"

namespace tapegrad {
namespace {

constexpr std::int64_t edge_items = 3;  // shown at each end of an axis longer than 2·edge_items

void append_axis(std::string& out, const Tensor& t, const std::vector<double>& values,
                 std::size_t axis, std::int64_t offset) {
    const Shape& s = t.shape();
    const auto strides = s.strides();
    out += '[';
    const std::int64_t n = s[axis];
    for (std::int64_t i = 0; i < n; ++i) {
        if (n > 2 * edge_items && i == edge_items) {
            out += "..., ";
            i = n - edge_items;
        }
        if (axis + 1 == s.rank()) {
            out += fmt::format("{:.6g}", values[offset + i]);
        } else {
            append_axis(out, t, values, axis + 1, offset + i * strides[axis]);
        }
        if (i + 1 < n) out += ", ";
    }
    out += ']';
}

}  // namespace

std::string to_string(const Tensor& t) {
    if (!t.defined()) return "tensor(undefined)";
    const std::vector<double> values = t.to_vector();
    std::string out = "tensor(";
    if (t.rank() == 0) {
        out += fmt::format("{:.6g}", values[0]);
    } else {
        append_axis(out, t, values, 0, 0);
    }
    out += fmt::format(", shape={}, dtype={}", t.shape(), dtype_name(t.dtype()));
    if (t.requires_grad()) out += ", requires_grad";
    return out + ")";
}

}  // namespace tapegrad
