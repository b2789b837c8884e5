#include "core/tensor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "core/half.hpp"
#include "core/random.hpp"

namespace tapegrad {
namespace {

// Reads element i of any dtype as double; creation and conversion only, never a hot loop.
double load(DType dtype, const void* p, std::int64_t i) {
    switch (dtype) {
        case DType::f32: return static_cast<const float*>(p)[i];
        case DType::f64: return static_cast<const double*>(p)[i];
        case DType::i32: return static_cast<const std::int32_t*>(p)[i];
        case DType::b8: return static_cast<const std::uint8_t*>(p)[i];
        case DType::bf16:
            return bf16_to_float(static_cast<const std::uint16_t*>(p)[i]);
    }
    return 0;
}

void store(DType dtype, void* p, std::int64_t i, double v) {
    switch (dtype) {
        case DType::f32: static_cast<float*>(p)[i] = static_cast<float>(v); break;
        case DType::f64: static_cast<double*>(p)[i] = v; break;
        case DType::i32: static_cast<std::int32_t*>(p)[i] = static_cast<std::int32_t>(v); break;
        case DType::b8: static_cast<std::uint8_t*>(p)[i] = v != 0; break;
        case DType::bf16:
            static_cast<std::uint16_t*>(p)[i] = float_to_bf16(static_cast<float>(v));
            break;
    }
}

Tensor make(const Shape& shape, TensorOptions options) {
    Tensor t = Tensor::empty(shape, options.dtype);
    t.requires_grad(options.requires_grad);
    return t;
}

Generator& pick_generator(const TensorOptions& options, Generator& local) {
    if (!options.seed) return global_generator();
    local.seed_with(*options.seed);
    return local;
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype) {
    // The byte count must not wrap: 2^62 float32 elements would otherwise "need" 0 bytes.
    if (static_cast<std::uint64_t>(shape.numel()) > std::uint64_t{PTRDIFF_MAX} / dtype_size(dtype))
        throw ValueError(fmt::format("empty: shape {} of {} needs more than 2^63 bytes", shape,
                                     dtype_name(dtype)));
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = std::make_shared<Storage>(static_cast<std::size_t>(shape.numel()) * dtype_size(dtype));
    impl->shape = shape;
    impl->dtype = dtype;
    return Tensor(std::move(impl));
}

TensorImpl& Tensor::impl() const {
    if (!impl_) throw ValueError("tensor: use of an undefined tensor");
    return *impl_;
}

void Tensor::throw_no_buffer() const {
    throw std::logic_error(fmt::format(
        "tensor {} {}: no buffer: this is a tape node's link to an input whose values the op's "
        "backward said it never reads (InputReads), yet it read them",
        shape(), dtype_name(dtype())));
}

void Tensor::check_dtype(DType expected) const {
    if (dtype() != expected)
        throw ValueError(fmt::format("tensor {}: element access as {} but the dtype is {}", shape(),
                                     dtype_name(expected), dtype_name(dtype())));
}

double Tensor::at(std::initializer_list<std::int64_t> index) const {
    const Shape& s = shape();
    if (index.size() != s.rank())
        throw ShapeError(fmt::format("at: tensor {}: {} indices for rank {}", s, index.size(), s.rank()));
    const auto strides = s.strides();
    std::int64_t flat = 0;
    std::size_t axis = 0;
    for (std::int64_t i : index) {
        const std::int64_t n = s[axis];
        if (i < -n || i >= n)
            throw ShapeError(fmt::format("at: tensor {}: index {} out of range on axis {}", s, i, axis));
        flat += (i < 0 ? i + n : i) * strides[axis++];
    }
    return load(dtype(), raw_data(), flat);
}

double Tensor::item() const {
    if (numel() != 1)
        throw ShapeError(fmt::format("item: tensor {}: expected exactly one element ({})", shape(), numel()));
    return load(dtype(), raw_data(), 0);
}

std::vector<double> Tensor::to_vector() const {
    std::vector<double> out(static_cast<std::size_t>(numel()));
    for (std::int64_t i = 0; i < numel(); ++i) out[i] = load(dtype(), raw_data(), i);
    return out;
}

Tensor Tensor::to(DType target) const {
    Tensor out = empty(shape(), target);
    if (target == dtype()) {
        std::memcpy(out.raw_data(), raw_data(), static_cast<std::size_t>(numel()) * dtype_size(target));
    } else if (dtype() == f32 && target == bf16) {  // mixed precision's copies: a vectorised loop
        floats_to_bf16(data<float>(), static_cast<std::size_t>(numel()), out.data<std::uint16_t>());
    } else {
        for (std::int64_t i = 0; i < numel(); ++i) store(target, out.raw_data(), i, load(dtype(), raw_data(), i));
    }
    return out;
}

Tensor Tensor::clone() const { return to(dtype()); }

Tensor Tensor::detach() const {
    auto impl = std::make_shared<TensorImpl>();
    impl->storage = this->impl().storage;
    impl->shape = shape();
    impl->dtype = dtype();
    return Tensor(std::move(impl));
}

Tensor Tensor::view_as_shape(const Shape& s) const {
    if (s.numel() != numel())
        throw ShapeError(fmt::format("reshape: {} to {}: sizes differ ({} vs {})", shape(), s, numel(), s.numel()));
    Tensor out = detach();
    out.impl().shape = s;
    return out;
}

bool Tensor::shares_storage(const Tensor& other) const {
    return impl().storage == other.impl().storage;
}

Tensor& Tensor::requires_grad(bool on) {
    if (on && !is_floating(dtype()))
        throw ValueError(fmt::format("requires_grad: tensor {} of dtype {} cannot have gradients",
                                     shape(), dtype_name(dtype())));
    if (!on && !is_leaf())
        throw ValueError("requires_grad(false): only leaves can stop requiring grad; use detach()");
    impl().requires_grad = on;
    return *this;
}

Tensor Tensor::grad() const { return Tensor(impl().grad); }

void Tensor::set_grad(const Tensor& g) const {
    if (g.defined() && (!(g.shape() == shape()) || g.dtype() != dtype()))
        throw ShapeError(fmt::format("set_grad: tensor {} {}: gradient {} {} does not match", shape(),
                                     dtype_name(dtype()), g.shape(), dtype_name(g.dtype())));
    impl().grad = g.impl_ptr();
}

void Tensor::zero_grad() const { impl().grad.reset(); }

Tensor zeros(const Shape& shape, TensorOptions options) { return full(shape, 0.0, options); }
Tensor ones(const Shape& shape, TensorOptions options) { return full(shape, 1.0, options); }

Tensor full(const Shape& shape, double value, TensorOptions options) {
    Tensor t = Tensor::empty(shape, options.dtype);
    if (value == 0.0) {
        std::memset(t.raw_data(), 0, static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype()));
    } else {
        for (std::int64_t i = 0; i < t.numel(); ++i) store(t.dtype(), t.raw_data(), i, value);
    }
    if (options.requires_grad) t.requires_grad(true);
    return t;
}

Tensor arange(std::int64_t n, TensorOptions options) {
    Tensor t = make({n}, {.dtype = options.dtype});
    for (std::int64_t i = 0; i < n; ++i) store(t.dtype(), t.raw_data(), i, static_cast<double>(i));
    if (options.requires_grad) t.requires_grad(true);
    return t;
}

Tensor from(std::span<const double> values, const Shape& shape, TensorOptions options) {
    if (static_cast<std::int64_t>(values.size()) != shape.numel())
        throw ShapeError(fmt::format("from: shape {}: needs {} values, got {}", shape, shape.numel(), values.size()));
    Tensor t = make(shape, {.dtype = options.dtype});
    for (std::size_t i = 0; i < values.size(); ++i) store(t.dtype(), t.raw_data(), i, values[i]);
    if (options.requires_grad) t.requires_grad(true);
    return t;
}

Tensor from(std::initializer_list<double> values, const Shape& shape, TensorOptions options) {
    return from(std::span(values.begin(), values.size()), shape, options);
}

template <class T>
static Tensor from_raw(std::string_view op, std::span<const T> values, const Shape& shape) {
    if (static_cast<std::int64_t>(values.size()) != shape.numel())
        throw ShapeError(fmt::format("{}: shape {}: needs {} values, got {}", op, shape, shape.numel(), values.size()));
    Tensor t = Tensor::empty(shape, dtype_of<T>());
    std::copy(values.begin(), values.end(), t.data<T>());
    return t;
}

Tensor ids(std::span<const std::int32_t> values, const Shape& shape) { return from_raw("ids", values, shape); }
Tensor mask(std::span<const std::uint8_t> values, const Shape& shape) { return from_raw("mask", values, shape); }

Tensor randn(const Shape& shape, TensorOptions options) {
    Tensor t = make(shape, {.dtype = options.dtype});
    Generator local;
    Generator& gen = pick_generator(options, local);
    dispatch("randn", t.dtype(), [&]<class T>() { gen.fill_normal(t.span<T>(), 0.0, 1.0); });
    if (options.requires_grad) t.requires_grad(true);
    return t;
}

Tensor uniform(const Shape& shape, double lo, double hi, TensorOptions options) {
    Tensor t = make(shape, {.dtype = options.dtype});
    Generator local;
    Generator& gen = pick_generator(options, local);
    dispatch("uniform", t.dtype(), [&]<class T>() { gen.fill_uniform(t.span<T>(), lo, hi); });
    if (options.requires_grad) t.requires_grad(true);
    return t;
}

Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), {.dtype = t.dtype()}); }

namespace {
detail::BackwardSweep backward_sweep = nullptr;

void run_backward_sweep(const Tensor& root, const Tensor* grad_output, BackwardOptions options) {
    if (!backward_sweep)
        throw ValueError("backward: no autograd in this program (autograd/tape.cpp not linked)");
    backward_sweep(root, grad_output, options);
}
}  // namespace

void detail::install_backward_sweep(BackwardSweep sweep) { backward_sweep = sweep; }

void Tensor::backward(BackwardOptions options) const {
    run_backward_sweep(*this, nullptr, options);
}

void Tensor::backward(const Tensor& grad_output, BackwardOptions options) const {
    run_backward_sweep(*this, &grad_output, options);
}

}  // namespace tapegrad
