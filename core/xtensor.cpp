#include "core/xtensor.hpp"

#include <fmt/format.h>

namespace tapegrad::detail {

XtensorWriter::XtensorWriter(std::shared_ptr<Storage> storage) : storage_(std::move(storage)) {
    storage_->open_writer();
}

XtensorWriter::~XtensorWriter() { storage_->close_writer(); }

void expect_view_dtype(const Tensor& t, DType view) {
    if (t.dtype() != view)
        throw ValueError(fmt::format(
            "as_xtensor: tensor {} {}, view of {}: dtypes differ ({} vs {})", t.shape(),
            dtype_name(t.dtype()), dtype_name(view), dtype_name(t.dtype()), dtype_name(view)));
}

void expect_writable(const Tensor& t, DType view) {
    if (t.impl().storage->held_for_backward())
        throw ValueError(fmt::format(
            "as_xtensor: tensor {} {}: a recorded graph keeps its buffer for backward, so it "
            "cannot be written; view it as const {} to read it, or write before the forward pass "
            "or after backward()",
            t.shape(), dtype_name(t.dtype()), view == f32 ? "float" : "double"));
}

std::vector<std::size_t> xtensor_shape(const Tensor& t) {
    return {t.shape().begin(), t.shape().end()};
}

Shape shape_from_xtensor(const std::vector<std::int64_t>& dims) {
    if (dims.size() > Shape::max_rank)
        throw ShapeError(
            fmt::format("from_xtensor: expression of shape [{}]: rank exceeds the "
                        "maximum ({} vs {})",
                        fmt::join(dims, ","), dims.size(), Shape::max_rank));
    return Shape(dims);
}

Tensor adopt_buffer(std::shared_ptr<void> owner, void* data, const Shape& shape, DType dtype) {
    auto impl = std::make_shared<TensorImpl>();
    const auto bytes = static_cast<std::size_t>(shape.numel()) * dtype_size(dtype);
    impl->storage = std::make_shared<Storage>(std::move(owner), data, bytes);
    impl->shape = shape;
    impl->dtype = dtype;
    return Tensor(std::move(impl));
}

}  // namespace tapegrad::detail
