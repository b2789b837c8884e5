// Anomaly mode: while it is on, every op's output is checked for NaN and Inf when the op runs in
// grad mode (forward) and every gradient an op's backward passes on (backward); the first bad value
// throws AnomalyError naming the op, its input and output shapes, the pass and the element:
//   "anomaly: log produced NaN in forward (input [2,3] -> output [2,3]); first bad element at
//    index 4"
// Off by default: then the tape pays one relaxed atomic load per op. Forward ops run under NoGrad
// (evaluation, optimizer steps) are not checked. The switch is global, for every thread.
//   DetectAnomaly guard;   // on until the end of the scope
//   Tensor loss = model.loss(x, y);  loss.backward();
#pragma once

#include <atomic>
#include <cstddef>
#include <vector>

#include "core/tensor.hpp"

namespace tapegrad {

void set_detect_anomaly(bool on);
bool detect_anomaly_enabled();

// Turns anomaly mode on (or off) for its lifetime and restores the previous setting after.
class DetectAnomaly {
public:
    explicit DetectAnomaly(bool on = true);
    ~DetectAnomaly();
    DetectAnomaly(const DetectAnomaly&) = delete;
    DetectAnomaly& operator=(const DetectAnomaly&) = delete;

private:
    bool previous_;
};

namespace detail {

extern std::atomic<bool> anomaly_flag;
inline bool anomaly_on() { return anomaly_flag.load(std::memory_order_relaxed); }

// Called by the tape only while anomaly_on(): throw AnomalyError when `out` (forward) or the
// gradient `grad` for input `input_index` (backward) holds a NaN or an Inf.
void check_forward(const char* op, const std::vector<Tensor>& inputs, const Tensor& out);
void check_backward(const char* op, const std::vector<Tensor>& inputs, const Shape& out_shape,
                    std::size_t input_index, const Tensor& grad);

}  // namespace detail
}  // namespace tapegrad
