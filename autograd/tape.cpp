#include "autograd/tape.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "autograd/anomaly.hpp"
#include "core/kernels/broadcast.hpp"

namespace tapegrad {
namespace {

thread_local bool grad_mode = true;
thread_local std::uint64_t next_seq = 1;
thread_local std::uint64_t next_sweep = 1;

// a + b with a plain kernel: summing gradients is arithmetic, never an op to record.
Tensor add_grads(const Tensor& a, const Tensor& b) {
    if (a.dtype() != b.dtype())
        throw ValueError(fmt::format("backward: gradients {} {} and {} {}: dtypes differ",
                                     a.shape(), dtype_name(a.dtype()), b.shape(),
                                     dtype_name(b.dtype())));
    return kernels::binary(kernels::BinaryOp::add, a, b,
                           broadcast_shapes("backward", a.shape(), b.shape()));
}

// Adds g into slot; the first contribution is kept as is, later ones make a new tensor, so a
// gradient that two inputs share (as `add` passes dy to both) is never modified in place.
void add_into(Tensor& slot, const Tensor& g) {
    slot = slot.defined() ? add_grads(slot, g) : g;
}

// What a node keeps of an input whose values its backward never reads: the same place in the graph
// without the buffer. A leaf that requires grad stays whole, as its gradient accumulates on it.
Tensor link_only(const Tensor& t) {
    if (!t.defined() || (t.is_leaf() && t.requires_grad())) return t;
    auto link = std::make_shared<TensorImpl>();
    link->shape = t.shape();
    link->dtype = t.dtype();
    link->requires_grad = t.requires_grad();
    link->grad_fn = t.grad_fn();
    return Tensor(std::move(link));
}

// Every node reachable from root, in reverse recording order.
std::vector<detail::Node*> collect(detail::Node* root) {
    const std::uint64_t mark = next_sweep++;
    std::vector<detail::Node*> order, stack{root};
    root->visit_mark = mark;
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

void run_backward(const Tensor& root, Tensor grad, BackwardOptions options) {
    if (!root.requires_grad())
        throw ValueError(fmt::format("backward: tensor {} does not require grad (no input of the "
                                     "ops that made it requires grad)", root.shape()));
    if (!(grad.shape() == root.shape()) || grad.dtype() != root.dtype())
        throw ShapeError(fmt::format("backward: tensor {} {}: gradient {} {} does not match",
                                     root.shape(), dtype_name(root.dtype()), grad.shape(),
                                     dtype_name(grad.dtype())));
    NoGrad no_grad;  // backward math is plain arithmetic, never recorded
    if (root.is_leaf()) {
        Backward::accumulate_leaf(root, grad);
        return;
    }
    const std::vector<detail::Node*> order = collect(root.grad_fn().get());
    for (detail::Node* node : order)
        if (node->freed)
            throw ValueError(fmt::format(
                "backward: the graph through '{}' was freed by an earlier backward(); pass "
                "{{.retain_graph = true}} to the first call to run backward twice", node->op));
    root.grad_fn()->grad_out = grad;
    try {
        for (detail::Node* node : order) {
            if (node->grad_out.defined()) {
                Backward bw(*node);
                node->fn(bw);
            }
            node->grad_out = Tensor();
            if (!options.retain_graph) {
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

}  // namespace

void Backward::accumulate_leaf(const Tensor& leaf, const Tensor& g) {
    Tensor current = leaf.grad();
    if (current.defined()) {
        leaf.impl().grad = add_grads(current, g).impl_ptr();
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
    if (in.grad_fn()) {
        add_into(in.grad_fn()->grad_out, summed);
    } else {
        accumulate_leaf(in, summed);
    }
}

InputReads InputReads::only(std::initializer_list<std::size_t> inputs) {
    std::uint64_t bits = 0;
    for (std::size_t i : inputs) {
        if (i >= 64) throw std::logic_error("InputReads::only: inputs are numbered below 64");
        bits |= std::uint64_t{1} << i;
    }
    return InputReads(bits, false);
}

Tensor record(const char* op, std::initializer_list<Tensor> inputs, Tensor out,
              std::initializer_list<Tensor> saved, BackwardFn fn, const OpAttrs& attrs,
              InputReads reads) {
    return record(op, std::vector<Tensor>(inputs), std::move(out), std::vector<Tensor>(saved), fn,
                  attrs, reads);
}

Tensor record(const char* op, std::vector<Tensor> inputs, Tensor out, std::vector<Tensor> saved,
              BackwardFn fn, const OpAttrs& attrs, InputReads reads) {
    if (!grad_mode) return out;  // also inside backward, which runs under NoGrad
    if (detail::anomaly_on()) detail::check_forward(op, inputs, out);
    const bool any = std::any_of(inputs.begin(), inputs.end(),
                                 [](const Tensor& t) { return t.requires_grad(); });
    if (!any) return out;
    auto node = std::make_shared<detail::Node>();
    node->op = op;
    node->seq = next_seq++;
    node->fn = fn;
    node->inputs = std::move(inputs);
    for (std::size_t i = 0; i < node->inputs.size(); ++i)
        if (!reads.reads(i)) node->inputs[i] = link_only(node->inputs[i]);
    node->saved = std::move(saved);
    node->attrs = attrs;
    node->out_shape = out.shape();
    node->out_dtype = out.dtype();
    node->hold_buffers();
    out.impl().grad_fn = std::move(node);
    out.impl().requires_grad = true;
    return out;
}

namespace detail {

void Node::hold_buffers() {
    if (!held.empty()) return;
    held.reserve(inputs.size() + saved.size());
    for (const auto* list : {&inputs, &saved}) {
        for (const Tensor& t : *list) {
            if (!t.defined() || !t.impl().storage) continue;  // an absent bias; a link only
            if (t.impl().storage->has_writer()) {
                held.clear();  // nothing is held yet: the counts go up below
                throw ValueError(fmt::format(
                    "{}: {} {} {}: a writable as_xtensor view is open on its buffer, which the op "
                    "keeps for backward; let the view go first, or view it as const",
                    op, list == &inputs ? "input" : "saved tensor", t.shape(),
                    dtype_name(t.dtype())));
            }
            held.push_back(t.impl().storage);
        }
    }
    for (const auto& s : held) s->hold_for_backward();
}

void Node::release_buffers() {
    for (const auto& s : held) s->release_for_backward();
    held.clear();
}

}  // namespace detail

void OpAttrs::throw_wrong_type(const char* op) {
    throw std::logic_error(fmt::format("{}: backward read attributes of another type than the op "
                                       "recorded", op));
}

bool grad_enabled() { return grad_mode; }

NoGrad::NoGrad() : previous_(grad_mode) { grad_mode = false; }
NoGrad::~NoGrad() { grad_mode = previous_; }

Tensor sum_to_shape(const Tensor& g, const Shape& shape) {
    if (g.shape() == shape) return g;
    const std::size_t extra = g.rank() - shape.rank();
    std::vector<std::size_t> axes;
    for (std::size_t i = 0; i < g.rank(); ++i)
        if (i < extra || (shape[i - extra] == 1 && g.shape()[i] != 1)) axes.push_back(i);
    return kernels::sum_keepdims(g, axes).view_as_shape(shape);
}

void backward(const Tensor& root, BackwardOptions options) {
    if (root.numel() != 1)
        throw ShapeError(fmt::format("backward: tensor {} is not a scalar; pass the upstream "
                                     "gradient explicitly", root.shape()));
    run_backward(root, ones(root.shape(), {.dtype = root.dtype()}), options);
}

void backward(const Tensor& root, const Tensor& grad_output, BackwardOptions options) {
    run_backward(root, grad_output, options);
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
