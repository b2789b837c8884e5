#include "autograd/anomaly.hpp"

#include <fmt/format.h>

#include <cmath>
#include <optional>
#include <string>

namespace tapegrad {
namespace detail {

std::atomic<bool> anomaly_flag{false};

}  // namespace detail

namespace {

struct BadElement {
    std::size_t index;
    double value;
};

// The first NaN or ±Inf of a floating tensor; integer and boolean tensors cannot hold one.
std::optional<BadElement> first_non_finite(const Tensor& t) {
    if (!t.defined() || !is_floating(t.dtype())) return std::nullopt;
    return dispatch("anomaly", t.dtype(), [&]<class T>() -> std::optional<BadElement> {
        const std::span<const T> values = t.span<T>();
        for (std::size_t i = 0; i < values.size(); ++i)
            if (!std::isfinite(values[i])) return BadElement{i, static_cast<double>(values[i])};
        return std::nullopt;
    });
}

std::string describe(double value) {
    if (std::isnan(value)) return "NaN";
    return value > 0 ? "Inf" : "-Inf";
}

// "input [2,3] -> output [2,3]" or "inputs [2,3], [3] -> output [2,3]"
std::string shapes(const std::vector<Tensor>& inputs, const Shape& out_shape) {
    std::vector<std::string> in;
    for (const Tensor& t : inputs)
        in.push_back(t.defined() ? fmt::format("{}", t.shape()) : "none");
    return fmt::format("{} {} -> output {}", inputs.size() == 1 ? "input" : "inputs",
                       fmt::join(in, ", "), out_shape);
}

}  // namespace

void set_detect_anomaly(bool on) { detail::anomaly_flag.store(on, std::memory_order_relaxed); }
bool detect_anomaly_enabled() { return detail::anomaly_on(); }

DetectAnomaly::DetectAnomaly(bool on) : previous_(detect_anomaly_enabled()) {
    set_detect_anomaly(on);
}
DetectAnomaly::~DetectAnomaly() { set_detect_anomaly(previous_); }

namespace detail {

void check_forward(const char* op, const std::vector<Tensor>& inputs, const Tensor& out) {
    const std::optional<BadElement> bad = first_non_finite(out);
    if (!bad) return;
    throw AnomalyError(
        fmt::format("anomaly: {} produced {} in forward ({}); first bad element at "
                    "index {}",
                    op, describe(bad->value), shapes(inputs, out.shape()), bad->index));
}

void check_backward(const char* op, const std::vector<Tensor>& inputs, const Shape& out_shape,
                    std::size_t input_index, const Tensor& grad) {
    const std::optional<BadElement> bad = first_non_finite(grad);
    if (!bad) return;
    throw AnomalyError(
        fmt::format("anomaly: {} produced {} in backward ({}); gradient of input {} "
                    "{}, first bad element at index {}",
                    op, describe(bad->value), shapes(inputs, out_shape), input_index, grad.shape(),
                    bad->index));
}

}  // namespace detail
}  // namespace tapegrad
