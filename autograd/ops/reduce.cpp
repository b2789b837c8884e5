// Reductions. Both passes work on the keepdims shape; dropping axes is a free reshape at the end.
#include "autograd/ops/reduce.hpp"

#include <algorithm>
#include <cstdint>

#include "autograd/ops/binary.hpp"
#include "autograd/ops/shape.hpp"
#include "autograd/ops/unary.hpp"
#include "autograd/tape.hpp"
#include "core/kernels/broadcast.hpp"

namespace tapegrad {
namespace {

// Sorted distinct axes in [0, rank); empty means all axes.
std::vector<std::size_t> resolve_axes(const char* op, const Shape& shape, const std::vector<std::int64_t>& axes) {
    std::vector<std::size_t> out;
    if (axes.empty()) {
        for (std::size_t i = 0; i < shape.rank(); ++i) out.push_back(i);
        return out;
    }
    for (std::int64_t a : axes) out.push_back(normalize_axis(op, a, shape.rank()));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

Shape keepdims_shape(const Shape& shape, const std::vector<std::size_t>& axes) {
    Shape out = shape;
    for (std::size_t a : axes) out[a] = 1;
    return out;
}

Shape dropped_shape(const Shape& shape, const std::vector<std::size_t>& axes) {
    Shape out;
    for (std::size_t i = 0; i < shape.rank(); ++i)
        if (!std::binary_search(axes.begin(), axes.end(), i)) out.push_back(shape[i]);
    return out;
}

// The reduced axes as one bit each: any number of axes fits inline, up to the largest rank.
struct ReduceAttrs {
    std::uint32_t axes_mask;
};
static_assert(Shape::max_rank <= 32, "one bit per axis");

ReduceAttrs reduce_attrs(const std::vector<std::size_t>& axes) {
    ReduceAttrs attrs{0};
    for (std::size_t a : axes) attrs.axes_mask |= std::uint32_t{1} << a;
    return attrs;
}

std::vector<std::size_t> reduced_axes(const Backward& bw) {
    const std::uint32_t mask = bw.attrs<ReduceAttrs>().axes_mask;
    std::vector<std::size_t> axes;
    for (std::size_t a = 0; a < bw.input(0).rank(); ++a)
        if (mask >> a & 1u) axes.push_back(a);
    return axes;
}

// dy viewed with the reduced axes kept as size 1, the shape both backward passes work in.
Tensor keepdims_grad(const Backward& bw, const std::vector<std::size_t>& axes) {
    const Shape keep = keepdims_shape(bw.input(0).shape(), axes);
    return bw.create_graph() ? reshape_to(bw.grad_out(), keep) : bw.grad_out().view_as_shape(keep);
}

Tensor finish(Tensor y_keep, const Shape& x_shape, const std::vector<std::size_t>& axes, bool keepdims) {
    return keepdims ? y_keep : y_keep.view_as_shape(dropped_shape(x_shape, axes));
}

}  // namespace

// y = Σ_axes x;  dx = dy repeated along the reduced axes
Tensor sum(const Tensor& x, const std::vector<std::int64_t>& axes, bool keepdims) {
    const auto ax = resolve_axes("sum", x.shape(), axes);
    Tensor y = finish(kernels::sum_keepdims(x, ax), x.shape(), ax, keepdims);
    return record(
        "sum", {x}, y, {},
        [](Backward& bw) {
            const Tensor dy = keepdims_grad(bw, reduced_axes(bw));
            const Shape& x_shape = bw.input(0).shape();
            bw.accumulate(
                0, bw.create_graph() ? broadcast_to(dy, x_shape) : kernels::expand(dy, x_shape));
        },
        reduce_attrs(ax), InputReads::none());
}

// mean = sum / count; its gradient follows from sum's and the scalar product's.
Tensor mean(const Tensor& x, const std::vector<std::int64_t>& axes, bool keepdims) {
    const auto ax = resolve_axes("mean", x.shape(), axes);
    std::int64_t count = 1;
    for (std::size_t a : ax) count *= x.shape()[a];
    return mul_scalar(sum(x, axes, keepdims), 1.0 / static_cast<double>(count));
}

// y = max_axes x;  dx = dy / (number of ties) at every element equal to its maximum
Tensor max(const Tensor& x, const std::vector<std::int64_t>& axes, bool keepdims) {
    const auto ax = resolve_axes("max", x.shape(), axes);
    if (x.numel() == 0) throw ShapeError(fmt::format("max: tensor {}: reduction of an empty tensor", x.shape()));
    Tensor y_keep = kernels::max_keepdims(x, ax);
    return record("max", {x}, finish(y_keep, x.shape(), ax, keepdims), {y_keep.detach()}, [](Backward& bw) {
        const std::vector<std::size_t> axes = reduced_axes(bw);
        const Tensor dy = keepdims_grad(bw, axes);
        const Tensor& x = bw.input(0);
        if (!bw.create_graph())
            return bw.accumulate(0, kernels::max_backward(x, bw.saved(0), dy, axes));
        Tensor share;  // 1/ties at each maximum, 0 elsewhere: piecewise constant in x
        {
            NoGrad constant;
            share = kernels::max_backward(x.detach(), bw.saved(0),
                                          ones(dy.shape(), {.dtype = dy.dtype()}), axes);
        }
        bw.accumulate(0, mul(broadcast_to(dy, x.shape()), share));
    }, reduce_attrs(ax));
}

}  // namespace tapegrad
