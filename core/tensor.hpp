// Tensor: a shared handle to a dense row-major N-d array with a run-time dtype, plus the autograd
// state (requires_grad, grad, the node that made it). Copying a Tensor copies the handle.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/shape.hpp"
#include "core/storage.hpp"

namespace tapegrad {

namespace detail {
struct Node;  // autograd/tape.hpp
}

struct TensorImpl {
    std::shared_ptr<Storage> storage;
    Shape shape;
    DType dtype = f32;
    bool requires_grad = false;
    std::shared_ptr<TensorImpl> grad;      // accumulated by backward() on leaves
    std::shared_ptr<detail::Node> grad_fn;  // the op that produced this tensor, if recorded
};

struct TensorOptions {
    DType dtype = f32;
    std::optional<std::uint64_t> seed;  // random creation only; unset = the global generator
    bool requires_grad = false;
};

struct BackwardOptions {
    bool retain_graph = false;  // keep saved tensors so backward can run again
    // Record the backward's own ops, so the gradients are differentiable (second derivatives,
    // Hessian-vector products, gradient penalties); implies retain_graph.
    bool create_graph = false;
};

class Tensor {
public:
    Tensor() = default;
    explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}
    // Uninitialised storage of the given shape and dtype.
    static Tensor empty(const Shape& shape, DType dtype = f32);

    bool defined() const { return impl_ != nullptr; }
    const Shape& shape() const { return impl().shape; }
    std::int64_t dim(std::int64_t axis) const { return shape().dim(axis); }
    std::size_t rank() const { return shape().rank(); }
    std::int64_t numel() const { return shape().numel(); }
    DType dtype() const { return impl().dtype; }

    // Typed access; throws ValueError when T is not the tensor's dtype.
    template <class T>
    T* data() const {
        check_dtype(dtype_of<T>());
        return static_cast<T*>(buffer().data());
    }
    template <class T>
    std::span<T> span() const {
        return {data<T>(), static_cast<std::size_t>(numel())};
    }
    void* raw_data() const { return buffer().data(); }
    // The storage; a tape node's link to an input whose values its backward never reads has none
    // (autograd/tape.hpp, InputReads), and reading it throws rather than crashes.
    Storage& buffer() const {
        if (!impl().storage) throw_no_buffer();
        return *impl().storage;
    }
    // One element as double, by multi-index (negative indices count from the end).
    double at(std::initializer_list<std::int64_t> index) const;
    double item() const;  // the value of a one-element tensor
    std::vector<double> to_vector() const;

    Tensor to(DType dtype) const;  // a copy in another dtype (a new leaf)
    Tensor clone() const;          // a copy with the same dtype (a new leaf)
    Tensor detach() const;         // shares storage, no autograd history
    // The same storage viewed with another shape of equal size, no history (ops/shape has reshape).
    Tensor view_as_shape(const Shape& shape) const;
    bool shares_storage(const Tensor& other) const;

    bool requires_grad() const { return impl().requires_grad; }
    Tensor& requires_grad(bool on);
    bool is_leaf() const { return impl().grad_fn == nullptr; }
    Tensor grad() const;  // undefined until a backward reaches this leaf
    void set_grad(const Tensor& grad) const;
    void zero_grad() const;  // drops the gradient, like PyTorch's set_to_none
    const std::shared_ptr<detail::Node>& grad_fn() const { return impl().grad_fn; }

    // Reverse-mode sweep from this tensor: the spelling users know for autograd's
    // backward(tensor) (autograd/tape.hpp), reached through detail::install_backward_sweep.
    // A scalar needs no argument.
    void backward(BackwardOptions options = {}) const;
    void backward(const Tensor& grad_output, BackwardOptions options = {}) const;

    TensorImpl& impl() const;
    const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

private:
    void check_dtype(DType expected) const;
    [[noreturn]] void throw_no_buffer() const;
    std::shared_ptr<TensorImpl> impl_;
};

// Creation. Random tensors come from core/random.hpp's generator (seeded, reproducible).
Tensor zeros(const Shape& shape, TensorOptions options = {});
Tensor ones(const Shape& shape, TensorOptions options = {});
Tensor full(const Shape& shape, double value, TensorOptions options = {});
Tensor arange(std::int64_t n, TensorOptions options = {});
Tensor from(std::span<const double> values, const Shape& shape, TensorOptions options = {});
Tensor from(std::initializer_list<double> values, const Shape& shape, TensorOptions options = {});
Tensor ids(std::span<const std::int32_t> values, const Shape& shape);  // i32, for tokens/targets
Tensor mask(std::span<const std::uint8_t> values, const Shape& shape);  // b8, 1 = keep/attend
Tensor randn(const Shape& shape, TensorOptions options = {});
Tensor uniform(const Shape& shape, double lo, double hi, TensorOptions options = {});
Tensor zeros_like(const Tensor& t);

namespace detail {
// The sweep Tensor::backward runs, installed by autograd/tape.cpp when the tape is linked in:
// core knows the node a tensor points to only by name, so it cannot walk the graph itself.
using BackwardSweep = void (*)(const Tensor& root, const Tensor* grad_output, BackwardOptions);
void install_backward_sweep(BackwardSweep sweep);
}  // namespace detail

}  // namespace tapegrad
