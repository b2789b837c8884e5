// Zero-copy interop with xtensor, opt-in: no other tapegrad header includes this one, so only the
// files that use xtensor pay its compile time.
//   auto v = as_xtensor<float>(t);        // an xt::xarray_adaptor over t's buffer: writes reach t
//   auto r = as_xtensor<const float>(t);  // read-only, always allowed
//   Tensor y = from_xtensor(xt::exp(r));  // the expression evaluated once, into y's buffer
// A view shares ownership of the buffer, so it stays valid after the tensor is dropped.
// Writes and the tape exclude each other (Storage::has_writer): a writable view is refused while
// a recorded graph keeps the buffer for its backward (the tensor, or one sharing its storage, is an
// input or saved tensor of a node not yet freed by backward()), and an op that would keep a buffer
// with a writable view open on it refuses to record. Read-only views are never refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>
#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xtensor.hpp>

#include "core/tensor.hpp"

namespace tapegrad {

namespace detail {

// Keeps a buffer alive and marked as written through a view, from the view's creation until its
// last copy is gone.
class XtensorWriter {
public:
    explicit XtensorWriter(std::shared_ptr<Storage> storage);
    ~XtensorWriter();
    XtensorWriter(const XtensorWriter&) = delete;
    XtensorWriter& operator=(const XtensorWriter&) = delete;

private:
    std::shared_ptr<Storage> storage_;
};

// ValueError "as_xtensor: tensor [2,3] f32, view of f64: dtypes differ (f32 vs f64)".
void expect_view_dtype(const Tensor& t, DType view);
// ValueError when a recorded graph keeps t's buffer for its backward.
void expect_writable(const Tensor& t, DType view);
std::vector<std::size_t> xtensor_shape(const Tensor& t);
// ShapeError naming the op when the expression's rank exceeds Shape::max_rank.
Shape shape_from_xtensor(const std::vector<std::int64_t>& dims);
// A tensor over a buffer someone else allocated, kept alive by `owner`.
Tensor adopt_buffer(std::shared_ptr<void> owner, void* data, const Shape& shape, DType dtype);

template <class T>
concept ViewElement = std::is_same_v < std::remove_const_t<T>,
float > || std::is_same_v<std::remove_const_t<T>, double>;

// An xt::xarray<T> or xt::xtensor<T, N>: its buffer holds exactly its values in row-major order.
template <class X>
concept RowMajorContainer = std::is_same_v<X, xt::xarray<typename X::value_type>> ||
    std::is_same_v<X, xt::xtensor<typename X::value_type, xt::get_rank<X>::value>>;

}  // namespace detail

// An xt::xarray_adaptor over t's buffer with t's shape. T = float or double (the tensor's dtype,
// else ValueError naming both); T = const float / const double gives a read-only view.
template <detail::ViewElement T>
auto as_xtensor(const Tensor& t) {
    using E = std::remove_const_t<T>;
    detail::expect_view_dtype(t, dtype_of<E>());
    T* data = static_cast<T*>(t.raw_data());
    if constexpr (std::is_const_v<T>) {
        return xt::adapt_smart_ptr(data, detail::xtensor_shape(t), t.impl().storage);
    } else {
        detail::expect_writable(t, dtype_of<E>());
        return xt::adapt_smart_ptr(data, detail::xtensor_shape(t),
                                   std::make_shared<detail::XtensorWriter>(t.impl().storage));
    }
}

// A new tensor (a leaf, f32 for float elements, f64 for double) holding the values of any xtensor
// expression. A non-const xt::xarray<T> or xt::xtensor<T, N> passed as an rvalue (std::move(a))
// gives its buffer to the tensor: no copy. Anything else is evaluated once, straight into the
// tensor's buffer: an expression such as xt::exp(a) + b without a temporary, a container passed as
// an lvalue (it stays valid) or a view of one with exactly one copy.
template <class E>
Tensor from_xtensor(E&& e) {
    using X = std::decay_t<E>;
    using T = std::remove_const_t<typename X::value_type>;
    static_assert(detail::ViewElement<T>,
                  "from_xtensor: elements must be float (f32) or double (f64)");
    const Shape shape = detail::shape_from_xtensor({e.shape().begin(), e.shape().end()});
    if constexpr (detail::RowMajorContainer<X> && !std::is_lvalue_reference_v<E>) {
        auto owner = std::make_shared<X>(std::move(e));
        T* data = owner->data();
        return detail::adopt_buffer(std::move(owner), data, shape, dtype_of<T>());
    } else {
        Tensor out = Tensor::empty(shape, dtype_of<T>());
        auto view = xt::adapt(out.data<T>(), static_cast<std::size_t>(out.numel()),
                              xt::no_ownership(), detail::xtensor_shape(out));
        xt::noalias(view) = e;
        return out;
    }
}

}  // namespace tapegrad
