// Recording: how an op puts a node on the tape (record), what the node keeps of its inputs
// (InputReads, links), the buffers it holds, and the hooks and scopes the fault locator records
// through. The reverse sweep that consumes the nodes is tape.cpp's.
#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "autograd/anomaly.hpp"
#include "autograd/tape.hpp"

namespace tapegrad {
namespace {

thread_local std::uint64_t next_seq = 1;
// The installed record hooks with the count of nodes each has seen, and the open TapeScope names
// (kept only while a hook is installed).
thread_local std::vector<std::pair<detail::RecordHook*, std::size_t>> record_hooks;
thread_local std::vector<std::string> scopes;

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

}  // namespace

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

namespace {

Tensor record_node(const char* op, std::vector<Tensor> inputs, Tensor out,
                   std::vector<Tensor> saved, BackwardFn fn, const OpAttrs& attrs, InputReads reads,
                   std::shared_ptr<void> state) {
    if (!grad_enabled()) return out;  // also inside backward, which runs under NoGrad
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
    node->state = std::move(state);
    node->out_shape = out.shape();
    node->out_dtype = out.dtype();
    node->hold_buffers();
    detail::Node& recorded = *node;
    out.impl().grad_fn = std::move(node);
    out.impl().requires_grad = true;
    for (auto& [hook, count] : record_hooks)
        hook->on_record(count++, recorded, out, scopes.empty() ? std::string() : scopes.back());
    return out;
}

}  // namespace

Tensor record(const char* op, std::vector<Tensor> inputs, Tensor out, std::vector<Tensor> saved,
              BackwardFn fn, const OpAttrs& attrs, InputReads reads) {
    return record_node(op, std::move(inputs), std::move(out), std::move(saved), fn, attrs, reads,
                       {});
}

Tensor record_with_state(const char* op, std::vector<Tensor> inputs, Tensor out,
                         std::shared_ptr<void> state, BackwardFn fn) {
    return record_node(op, std::move(inputs), std::move(out), {}, fn, {}, InputReads::all(),
                       std::move(state));
}

TapeScope::TapeScope(const std::string& name) {
    if (record_hooks.empty()) return;
    scopes.push_back(name);
    pushed_ = true;
}

TapeScope::~TapeScope() {
    if (pushed_) scopes.pop_back();
}

namespace detail {

ScopedRecordHook::ScopedRecordHook(RecordHook& hook) { record_hooks.emplace_back(&hook, 0); }
ScopedRecordHook::~ScopedRecordHook() { record_hooks.pop_back(); }

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
    throw std::logic_error(
        fmt::format("{}: backward read attributes of another type than the op "
                    "recorded",
                    op));
}

}  // namespace tapegrad
