// The tape: every op on a tensor that requires grad records a Node (inputs, saved tensors, a
// backward function). Nodes are numbered in recording order, so walking them from the highest
// number down visits every node after all of its consumers: that is the reverse sweep.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "core/tensor.hpp"

namespace tapegrad {

class Backward;
using BackwardFn = void (*)(Backward&);

// Non-tensor arguments an op's backward needs (axes, a scalar, a target shape...), kept inline so
// a node costs no extra allocation and backward functions stay captureless.
struct Attrs {
    std::array<std::int64_t, 10> i{};
    double f = 0.0;
    Shape shape;
};

namespace detail {

struct Node {
    const char* op = "";
    std::uint64_t seq = 0;  // position on the tape
    BackwardFn fn = nullptr;
    std::vector<Tensor> inputs;
    std::vector<Tensor> saved;
    Attrs attrs;
    Shape out_shape;
    DType out_dtype = f32;
    Tensor grad_out;              // upstream gradient, summed over consumers during a sweep
    std::uint64_t visit_mark = 0;  // which sweep last collected this node
    bool freed = false;           // saved tensors released by a backward without retain_graph
};

}  // namespace detail

// The view of one node that its backward function gets.
class Backward {
public:
    explicit Backward(detail::Node& node) : node_(node) {}
    const Tensor& grad_out() const { return node_.grad_out; }
    const Tensor& input(std::size_t i) const { return node_.inputs[i]; }
    const Tensor& saved(std::size_t i) const { return node_.saved[i]; }
    std::size_t num_inputs() const { return node_.inputs.size(); }
    const Attrs& attrs() const { return node_.attrs; }
    const Shape& out_shape() const { return node_.out_shape; }
    // Whether input i wants a gradient; compute only those.
    bool needs(std::size_t i) const { return node_.inputs[i].requires_grad(); }
    // Adds g to input i's gradient, summing over broadcast axes first when g is larger.
    void accumulate(std::size_t i, const Tensor& g);
    // Adds g into a leaf's .grad(), as every sweep ends by doing.
    static void accumulate_leaf(const Tensor& leaf, const Tensor& g);

private:
    detail::Node& node_;
};

// Records `out` as made by `op` from `inputs` when grad mode is on and an input requires grad;
// otherwise returns `out` untouched. `saved` holds what backward needs beyond the inputs.
Tensor record(const char* op, std::initializer_list<Tensor> inputs, Tensor out,
              std::initializer_list<Tensor> saved, BackwardFn fn, const Attrs& attrs = {});
Tensor record(const char* op, std::vector<Tensor> inputs, Tensor out, std::vector<Tensor> saved,
              BackwardFn fn, const Attrs& attrs = {});

bool grad_enabled();

// Nothing is recorded while a NoGrad is alive.
class NoGrad {
public:
    NoGrad();
    ~NoGrad();
    NoGrad(const NoGrad&) = delete;
    NoGrad& operator=(const NoGrad&) = delete;

private:
    bool previous_;
};

// Sums g over the axes where `shape` was broadcast, giving a tensor of `shape` (no history).
Tensor sum_to_shape(const Tensor& g, const Shape& shape);

}  // namespace tapegrad
