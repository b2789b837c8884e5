#include "autograd/tape.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "autograd/anomaly.hpp"
#include "autograd/ops/binary.hpp"
#include "autograd/ops/reduce.hpp"
#include "autograd/ops/shape.hpp"
#include "autograd/ops/unary.hpp"
#include "core/kernels/broadcast.hpp"

namespace tapegrad {
namespace {

thread_local bool grad_mode = true;
thread_local int running_shard = -1;
thread_local std::uint64_t next_sweep = 1;

// What the running sweep does beyond the default: the inputs whose gradients grad() returns
// (then no leaf's .grad() changes), as pairs of the tensor and its gradient so far.
struct Sweep {
    std::vector<std::pair<Tensor, Tensor>>* captured = nullptr;
    bool propagate = true;  // false: one node's backward alone (node_vjp)
};
thread_local Sweep* current_sweep = nullptr;

// Installs a sweep and a grad mode until the scope ends, also when a backward throws.
class SweepScope {
public:
    SweepScope(Sweep* sweep, bool mode) : sweep_(current_sweep), mode_(grad_mode) {
        current_sweep = sweep;
        grad_mode = mode;
    }
    ~SweepScope() {
        current_sweep = sweep_;
        grad_mode = mode_;
    }
    SweepScope(const SweepScope&) = delete;
    SweepScope& operator=(const SweepScope&) = delete;

private:
    Sweep* sweep_;
    bool mode_;
};

// a + b: a plain kernel in an ordinary sweep, the recorded `add` when the sweep creates a graph.
Tensor add_grads(const Tensor& a, const Tensor& b) {
    if (a.dtype() != b.dtype())
        throw ValueError(fmt::format("backward: gradients {} {} and {} {}: dtypes differ",
                                     a.shape(), dtype_name(a.dtype()), b.shape(),
                                     dtype_name(b.dtype())));
    if (grad_mode) return add(a, b);
    return kernels::binary(kernels::BinaryOp::add, a, b,
                           broadcast_shapes("backward", a.shape(), b.shape()));
}

// Adds g into slot; the first contribution is kept as is, later ones make a new tensor, so a
// gradient that two inputs share (as `add` passes dy to both) is never modified in place.
void add_into(Tensor& slot, const Tensor& g) { slot = slot.defined() ? add_grads(slot, g) : g; }

// When grad() asked for t's gradient, adds g to it and says so.
bool capture(const Tensor& t, const Tensor& g) {
    if (!current_sweep || !current_sweep->captured) return false;
    bool found = false;
    for (auto& [wanted, slot] : *current_sweep->captured) {
        // a node keeps an input it does not read as a link: the same node, another handle
        const bool same =
            &wanted.impl() == &t.impl() || (t.grad_fn() && t.grad_fn() == wanted.grad_fn());
        if (!same) continue;
        add_into(slot, g);
        found = true;
    }
    return found;
}

// Every node reachable from the roots, in reverse recording order.
std::vector<detail::Node*> collect(const std::vector<detail::Node*>& roots) {
    const std::uint64_t mark = next_sweep++;
    std::vector<detail::Node*> order, stack;
    for (detail::Node* root : roots) {
        if (root->visit_mark == mark) continue;
        root->visit_mark = mark;
        stack.push_back(root);
    }
    while (!stack.empty()) {
        detail::Node* node = stack.back();
        stack.pop_back();
        order.push_back(node);
        for (const Tensor& in : node->inputs) {
            detail::Node* child = in.grad_fn().get();
            if (child && child->visit_mark != mark) {
                child->visit_mark = mark;
                stack.push_back(child);
            }
        }
    }
    std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->seq > b->seq; });
    return order;
}

void check_root(const Tensor& root, const Tensor& grad) {
    if (!root.requires_grad())
        throw ValueError(
            fmt::format("backward: tensor {} does not require grad (no input of the "
                        "ops that made it requires grad)",
                        root.shape()));
    if (!(grad.shape() == root.shape()) || grad.dtype() != root.dtype())
        throw ShapeError(fmt::format("backward: tensor {} {}: gradient {} {} does not match",
                                     root.shape(), dtype_name(root.dtype()), grad.shape(),
                                     dtype_name(grad.dtype())));
}

// Runs every node's backward, from the last recorded, and frees the saved tensors unless kept.
void sweep_nodes(const std::vector<detail::Node*>& order, bool retain) {
    for (detail::Node* node : order)
        if (node->freed)
            throw ValueError(fmt::format(
                "backward: the graph through '{}' was freed by an earlier backward(); pass "
                "{{.retain_graph = true}} to the first call to run backward twice",
                node->op));
    try {
        for (detail::Node* node : order) {
            if (node->grad_out.defined()) {
                Backward bw(*node);
                node->fn(bw);
            }
            node->grad_out = Tensor();
            if (!retain) {
                node->release_buffers();
                node->saved.clear();
                node->freed = true;
            }
        }
    } catch (...) {  // an AnomalyError or a failed op: leave no upstream gradient half summed
        for (detail::Node* node : order) node->grad_out = Tensor();
        throw;
    }
}

// The reverse sweep from every root with its upstream gradient. Without create_graph the backward
// math is plain arithmetic, never recorded; with it, grad mode stays on and it is recorded.
void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads,
                  BackwardOptions options, Sweep sweep) {
    const SweepScope scope(&sweep, options.create_graph);
    std::vector<detail::Node*> nodes;
    for (std::size_t r = 0; r < roots.size(); ++r) {
        check_root(roots[r], grads[r]);
        capture(roots[r], grads[r]);
        if (roots[r].is_leaf()) {
            if (!sweep.captured) Backward::accumulate_leaf(roots[r], grads[r]);
        } else {
            nodes.push_back(roots[r].grad_fn().get());
        }
    }
    const std::vector<detail::Node*> order = collect(nodes);
    for (std::size_t r = 0; r < roots.size(); ++r)
        if (!roots[r].is_leaf()) add_into(roots[r].grad_fn()->grad_out, grads[r]);
    sweep_nodes(order, options.retain_graph || options.create_graph);
}

}  // namespace

void Backward::accumulate_leaf(const Tensor& leaf, const Tensor& g) {
    Tensor current = leaf.grad();
    if (current.defined()) {
        leaf.impl().grad = add_grads(current, g).impl_ptr();
    } else if (grad_mode && g.requires_grad()) {  // create_graph: keep the history, own a copy
        leaf.impl().grad = (g.impl().storage.use_count() > 1 ? add_scalar(g, 0.0) : g).impl_ptr();
    } else {
        // Own the storage: optimizers and clipping change gradients in place.
        leaf.impl().grad = (g.impl().storage.use_count() > 1 ? g.clone() : g.detach()).impl_ptr();
    }
}

void Backward::accumulate(std::size_t i, const Tensor& g) {
    const Tensor& in = node_.inputs[i];
    if (!in.requires_grad()) return;
    if (detail::anomaly_on()) detail::check_backward(node_.op, node_.inputs, node_.out_shape, i, g);
    const Tensor summed = g.shape() == in.shape() ? g : sum_to_shape(g, in.shape());
    const bool captured = capture(in, summed);
    if (current_sweep && !current_sweep->propagate) return;
    if (in.grad_fn()) {
        add_into(in.grad_fn()->grad_out, summed);
    } else if (!captured && !(current_sweep && current_sweep->captured)) {
        accumulate_leaf(in, summed);
    }
}

namespace detail {

std::vector<Tensor> node_vjp(Node& node, const Tensor& v) {
    std::vector<std::pair<Tensor, Tensor>> captured;
    for (const Tensor& in : node.inputs) captured.emplace_back(in, Tensor());
    Sweep sweep{&captured, false};
    {
        const SweepScope scope(&sweep, false);
        node.grad_out = v;
        try {
            Backward bw(node);
            node.fn(bw);
        } catch (...) {
            node.grad_out = Tensor();
            throw;
        }
        node.grad_out = Tensor();
    }
    std::vector<Tensor> out;
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
        const Tensor& in = node.inputs[i];
        out.push_back(captured[i].second.defined() ? captured[i].second
                                                   : zeros(in.shape(), {.dtype = in.dtype()}));
    }
    return out;
}

}  // namespace detail

bool grad_enabled() { return grad_mode; }

ShardScope::ShardScope(int index) : previous_(running_shard) { running_shard = index; }
ShardScope::~ShardScope() { running_shard = previous_; }
int current_shard() { return running_shard; }

GradModeGuard::GradModeGuard(bool on) : previous_(grad_mode) { grad_mode = on; }
GradModeGuard::~GradModeGuard() { grad_mode = previous_; }

Tensor Backward::output(std::size_t saved_index) const {
    const Tensor& values = node_.saved[saved_index];
    auto out = std::make_shared<TensorImpl>();
    out->storage = values.impl().storage;
    out->shape = node_.out_shape;
    out->dtype = node_.out_dtype;
    out->requires_grad = true;
    out->grad_fn = node_.shared_from_this();
    return Tensor(std::move(out));
}

Tensor sum_to_shape(const Tensor& g, const Shape& shape) {
    if (g.shape() == shape) return g;
    const std::size_t extra = g.rank() - shape.rank();
    std::vector<std::size_t> axes;
    for (std::size_t i = 0; i < g.rank(); ++i)
        if (i < extra || (shape[i - extra] == 1 && g.shape()[i] != 1)) axes.push_back(i);
    if (grad_mode) {
        const std::vector<std::int64_t> signed_axes(axes.begin(), axes.end());
        const std::vector<std::int64_t> dims(shape.dims().begin(), shape.dims().end());
        return reshape(sum(g, signed_axes, true), dims);
    }
    return kernels::sum_keepdims(g, axes).view_as_shape(shape);
}

namespace {

Tensor ones_for_scalar(const char* what, const Tensor& root) {
    if (root.numel() != 1)
        throw ShapeError(
            fmt::format("{}: tensor {} is not a scalar; pass the upstream gradient "
                        "explicitly",
                        what, root.shape()));
    return ones(root.shape(), {.dtype = root.dtype()});
}

}  // namespace

void backward(const Tensor& root, BackwardOptions options) {
    run_backward({root}, {ones_for_scalar("backward", root)}, options, {});
}

void backward(const Tensor& root, const Tensor& grad_output, BackwardOptions options) {
    run_backward({root}, {grad_output}, options, {});
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const GradOptions& options) {
    if (!options.grad_outputs.empty() && options.grad_outputs.size() != outputs.size())
        throw ValueError(fmt::format("grad: {} outputs but {} grad_outputs", outputs.size(),
                                     options.grad_outputs.size()));
    std::vector<Tensor> grads = options.grad_outputs;
    if (grads.empty())
        for (const Tensor& out : outputs) grads.push_back(ones_for_scalar("grad", out));
    std::vector<std::pair<Tensor, Tensor>> captured;
    for (const Tensor& in : inputs) {
        if (!in.requires_grad())
            throw ValueError(fmt::format("grad: input {} does not require grad", in.shape()));
        captured.emplace_back(in, Tensor());
    }
    run_backward(outputs, grads,
                 {.retain_graph = options.retain_graph, .create_graph = options.create_graph},
                 Sweep{&captured});
    std::vector<Tensor> out;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const Tensor& g = captured[i].second;
        if (g.defined() || options.allow_unused) {
            out.push_back(g);
        } else {
            out.push_back(zeros(inputs[i].shape(), {.dtype = inputs[i].dtype()}));
        }
    }
    return out;
}

namespace {

void sweep_for_tensor(const Tensor& root, const Tensor* grad_output, BackwardOptions options) {
    if (grad_output) {
        backward(root, *grad_output, options);
    } else {
        backward(root, options);
    }
}

// Tensor::backward lives in core, which must not include the tape: it calls this sweep instead.
[[maybe_unused]] const bool sweep_installed =
    (detail::install_backward_sweep(&sweep_for_tensor), true);

}  // namespace

}  // namespace tapegrad
