// The tape: every op on a tensor that requires grad records a Node (inputs, saved tensors, a
// backward function). Nodes are numbered in recording order, so walking them from the highest
// number down visits every node after all of its consumers: that is the reverse sweep.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "core/tensor.hpp"

namespace tapegrad {

class Backward;
// Whether ops record: off inside a NoGrad, and inside a backward sweep without create_graph.
bool grad_enabled();
using BackwardFn = void (*)(Backward&);

// An op's non-tensor arguments (axes, flags, a scalar): each op declares a small named struct, e.g.
// `struct MatmulAttrs { bool transpose_a, transpose_b; };`, which the node copies into this inline
// buffer, so a node costs no extra allocation and backward functions stay captureless. A buffer
// rather than a std::variant: the tape then need not list every op's struct, each op owns its own.
class OpAttrs {
public:
    static constexpr std::size_t capacity = 32;

    OpAttrs() = default;
    template <class A>
    OpAttrs(const A& attrs) : type_(&tag<A>) {  // implicit: record(..., MatmulAttrs{ta, tb})
        static_assert(std::is_trivially_copyable_v<A>, "op attributes are copied as bytes");
        static_assert(sizeof(A) <= capacity && alignof(A) <= alignof(std::max_align_t),
                      "op attributes must fit the node's inline buffer");
        std::memcpy(bytes_.data(), &attrs, sizeof(A));
    }
    // The struct the op stored; asking for another type is a bug in the op, reported by name.
    template <class A>
    A get(const char* op) const {
        if (type_ != &tag<A>) throw_wrong_type(op);
        A attrs;
        std::memcpy(&attrs, bytes_.data(), sizeof(A));
        return attrs;
    }

private:
    template <class A>
    static constexpr char tag = 0;  // one address per attribute struct identifies the type
    [[noreturn]] static void throw_wrong_type(const char* op);

    alignas(std::max_align_t) std::array<std::byte, capacity> bytes_{};
    const void* type_ = nullptr;
};

// Which inputs' values an op's backward reads. An input it never reads (the operands of an add,
// the scores under a softmax that differentiates through its output, the source of a permute) is
// kept by the node only as a link in the graph: shape, dtype and the node that made it, no buffer.
// So an activation that no backward needs is freed as soon as the forward is done with it. Leaves
// stay whole: their gradient accumulates on them.
class InputReads {
public:
    static InputReads all() { return InputReads(~std::uint64_t{0}, true); }
    static InputReads none() { return InputReads(0, false); }
    // Only the listed inputs (each below 64).
    static InputReads only(std::initializer_list<std::size_t> inputs);
    bool reads(std::size_t i) const { return i < 64 ? (bits_ >> i) & 1u : rest_; }

private:
    InputReads(std::uint64_t bits, bool rest) : bits_(bits), rest_(rest) {}
    std::uint64_t bits_;
    bool rest_;  // inputs from the 65th on
};

namespace detail {

struct Node : std::enable_shared_from_this<Node> {
    Node() = default;
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;
    ~Node() { release_buffers(); }
    // From recording until its saved tensors are freed, a node holds the storage of its inputs and
    // saved tensors (Storage::hold_for_backward): no writable xtensor view of them is handed out.
    void hold_buffers();
    void release_buffers();

    const char* op = "";
    std::uint64_t seq = 0;  // position on the tape
    BackwardFn fn = nullptr;
    std::vector<Tensor> inputs;
    std::vector<Tensor> saved;
    OpAttrs attrs;
    Shape out_shape;
    DType out_dtype = f32;
    Tensor grad_out;              // upstream gradient, summed over consumers during a sweep
    std::uint64_t visit_mark = 0;  // which sweep last collected this node
    bool freed = false;           // saved tensors released by a backward without retain_graph
    // A user op's own object (autograd/function.hpp), null for built-in ops: an empty shared_ptr
    // costs no allocation.
    std::shared_ptr<void> state;
    // The buffers held, as handles: Module::to(dtype) may give a tensor new storage meanwhile.
    std::vector<std::shared_ptr<Storage>> held;
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
    std::size_t num_saved() const { return node_.saved.size(); }
    // The op's attribute struct, checked against the type it stored.
    template <class A>
    A attrs() const {
        return node_.attrs.get<A>(node_.op);
    }
    const Shape& out_shape() const { return node_.out_shape; }
    // The state record_with_state stored, as the type the op stored.
    template <class S>
    S& state() const {
        return *static_cast<S*>(node_.state.get());
    }
    // Whether input i wants a gradient; compute only those.
    bool needs(std::size_t i) const { return node_.inputs[i].requires_grad(); }
    // Whether this sweep records the gradients it computes (BackwardOptions::create_graph): the
    // backward must then build them from recorded ops on its inputs, never from raw kernels or
    // detached saved tensors (docs/design.md, "Second derivatives").
    bool create_graph() const { return grad_enabled(); }
    // The op's output as a tensor of this node, its values from saved(i) (which holds them): what a
    // create_graph backward differentiates through where the fast form reads the saved output, as
    // softmax's does. Second derivatives then reach the inputs through this node's own backward,
    // so the inputs' values are not needed (an input may be kept as a link only).
    Tensor output(std::size_t saved_index) const;
    // Adds g to input i's gradient, summing over broadcast axes first when g is larger.
    void accumulate(std::size_t i, const Tensor& g);
    // Adds g into a leaf's .grad(), as every sweep ends by doing.
    static void accumulate_leaf(const Tensor& leaf, const Tensor& g);

private:
    detail::Node& node_;
};

// Records `out` as made by `op` from `inputs` when grad mode is on and an input requires grad;
// otherwise returns `out` untouched. `saved` holds what backward needs beyond the inputs, and
// `reads` says which inputs' values backward reads (the others are kept as links only).
Tensor record(const char* op, std::initializer_list<Tensor> inputs, Tensor out,
              std::initializer_list<Tensor> saved, BackwardFn fn, const OpAttrs& attrs = {},
              InputReads reads = InputReads::all());
Tensor record(const char* op, std::vector<Tensor> inputs, Tensor out, std::vector<Tensor> saved,
              BackwardFn fn, const OpAttrs& attrs = {}, InputReads reads = InputReads::all());

// record() for an op that owns an object of its own (a user op's captures, autograd/function.hpp);
// `op` may point into `state`, which the node keeps alive.
Tensor record_with_state(const char* op, std::vector<Tensor> inputs, Tensor out,
                         std::shared_ptr<void> state, BackwardFn fn);

// Reverse-mode sweep from `root`, adding into the .grad() of every leaf it reaches; a scalar
// root needs no upstream gradient. `loss.backward()` (core/tensor.hpp) runs this same sweep.
void backward(const Tensor& root, BackwardOptions options = {});
void backward(const Tensor& root, const Tensor& grad_output, BackwardOptions options = {});

// Sets grad mode for its lifetime and restores the previous mode after.
class GradModeGuard {
public:
    explicit GradModeGuard(bool on);
    ~GradModeGuard();
    GradModeGuard(const GradModeGuard&) = delete;
    GradModeGuard& operator=(const GradModeGuard&) = delete;

private:
    bool previous_;
};

// Nothing is recorded while a NoGrad is alive.
class NoGrad : GradModeGuard {
public:
    NoGrad() : GradModeGuard(false) {}
};

// Recording is on while an EnableGrad is alive, even inside a NoGrad: for a function that must
// differentiate what it computes whatever its caller does (gradgradcheck's first derivative).
class EnableGrad : GradModeGuard {
public:
    EnableGrad() : GradModeGuard(true) {}
};

// The gradients of `outputs` (each weighted by its grad_outputs entry; a scalar output may omit
// it) with respect to `inputs`, returned rather than added into any .grad(). An input the outputs
// do not depend on gets zeros (or, with allow_unused, an undefined tensor, as backward() leaves
// its .grad()). With create_graph the gradients are themselves differentiable.
struct GradOptions {
    std::vector<Tensor> grad_outputs;  // empty: ones for scalar outputs
    bool create_graph = false;
    bool retain_graph = false;  // create_graph implies it
    bool allow_unused = false;
};
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const GradOptions& options = {});

// Marks this thread, while alive, as running shard `index` of a sharded training step
// (train/sharded_step.hpp), where the shards' threads share one model. Layers that keep what a
// forward computes, to be read after it, refuse to run inside one (the threads would overwrite
// each other's); a module remembers its output shape from shard 0 only.
class ShardScope {
public:
    explicit ShardScope(int index);
    ~ShardScope();
    ShardScope(const ShardScope&) = delete;
    ShardScope& operator=(const ShardScope&) = delete;

private:
    int previous_;
};
int current_shard();  // -1 outside a sharded step

// Names the layer that records the ops run while it is alive ("h.0.attn", a module's path), for
// the fault locator's report. Costs one check when no locator is watching.
class TapeScope {
public:
    explicit TapeScope(const std::string& name);
    ~TapeScope();
    TapeScope(const TapeScope&) = delete;
    TapeScope& operator=(const TapeScope&) = delete;

private:
    bool pushed_ = false;
};

namespace detail {

// Watches record() while installed (ScopedRecordHook): the fault locator replays a function and
// sees, or replaces the values of, every op's output; tests use one to plant a wrong backward.
// `position` counts the nodes recorded since the hook was installed; `scope` is the innermost
// TapeScope's name.
class RecordHook {
public:
    virtual ~RecordHook() = default;
    virtual void on_record(std::size_t position, Node& node, Tensor& out,
                           const std::string& scope) = 0;
};

class ScopedRecordHook {
public:
    explicit ScopedRecordHook(RecordHook& hook);
    ~ScopedRecordHook();
    ScopedRecordHook(const ScopedRecordHook&) = delete;
    ScopedRecordHook& operator=(const ScopedRecordHook&) = delete;
};

// What one node's backward alone gives each input for the upstream gradient v (zeros for an
// input it gives nothing), without propagating further or touching any .grad().
std::vector<Tensor> node_vjp(Node& node, const Tensor& v);

}  // namespace detail

// Sums g over the axes where `shape` was broadcast, giving a tensor of `shape` (recorded when grad
// mode is on, as in a create_graph sweep).
Tensor sum_to_shape(const Tensor& g, const Shape& shape);

}  // namespace tapegrad
