// Ops that move or select elements. Only reshape shares storage; the others copy through
// core/kernels/strided (permute, cut out, paste in) or core/kernels/select.
#include "autograd/ops/shape.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

#include "autograd/tape.hpp"
#include "core/kernels/broadcast.hpp"
#include "core/kernels/select.hpp"
#include "core/kernels/strided.hpp"

namespace tapegrad {
namespace {

// reshape's target with its one -1 replaced by the size that makes the element counts agree.
Shape infer_shape(const Shape& from, const std::vector<std::int64_t>& dims) {
    const auto fail = [&](const std::string& what) {
        throw_shape_error("reshape", fmt::format("{} to [{}]", from, fmt::join(dims, ",")), what);
    };
    const auto inferred = std::count(dims.begin(), dims.end(), -1);
    if (inferred > 1) fail(fmt::format("only one dimension can be -1 (got {})", inferred));
    std::int64_t known = 1;
    for (std::int64_t d : dims) {
        if (d < -1) fail(fmt::format("negative dimension ({})", d));
        if (d >= 0) known *= d;
    }
    std::vector<std::int64_t> out = dims;
    if (inferred == 1) {
        if (known == 0)
            fail(fmt::format("-1 is ambiguous beside a zero-sized dimension ({} elements)",
                             from.numel()));
        if (from.numel() % known != 0)
            fail(fmt::format("sizes differ ({} elements do not divide into parts of {})",
                             from.numel(), known));
        *std::find(out.begin(), out.end(), -1) = from.numel() / known;
    } else if (known != from.numel()) {
        fail(fmt::format("sizes differ ({} vs {})", from.numel(), known));
    }
    return Shape(out);
}

// The checked permutation: `axes` lists every axis of a rank-`rank` tensor once, negatives allowed.
std::vector<std::size_t> resolve_permutation(const Shape& shape,
                                             const std::vector<std::int64_t>& axes) {
    const auto operands = [&] {
        return fmt::format("{} with axes [{}]", shape, fmt::join(axes, ","));
    };
    if (axes.size() != shape.rank())
        throw_shape_error("permute", operands(),
                          fmt::format("expected {} axes (got {})", shape.rank(), axes.size()));
    std::vector<std::size_t> out;
    for (std::int64_t a : axes) {
        const std::size_t axis = normalize_axis("permute", a, shape.rank());
        if (std::find(out.begin(), out.end(), axis) != out.end())
            throw_shape_error("permute", operands(), fmt::format("axis repeated ({})", axis));
        out.push_back(axis);
    }
    return out;
}

struct PermuteAttrs {
    std::array<std::uint8_t, Shape::max_rank> axes;  // y axis k = x axis axes[k]
};
static_assert(Shape::max_rank <= 256, "an axis fits a byte");

// y axis k = x axis axes[k];  dx = dy permuted by the inverse (dx axis axes[k] = dy axis k)
Tensor permuted(const char* op, const Tensor& x, const std::vector<std::size_t>& axes) {
    PermuteAttrs attrs{};
    for (std::size_t k = 0; k < axes.size(); ++k)
        attrs.axes[k] = static_cast<std::uint8_t>(axes[k]);
    return record(
        op, {x}, kernels::permute(x, axes), {},
        [](Backward& bw) {
            const PermuteAttrs attrs = bw.attrs<PermuteAttrs>();
            std::vector<std::size_t> inverse(bw.input(0).rank());
            for (std::size_t k = 0; k < inverse.size(); ++k) inverse[attrs.axes[k]] = k;
            bw.accumulate(0, bw.create_graph() ? permuted("permute", bw.grad_out(), inverse)
                                               : kernels::permute(bw.grad_out(), inverse));
        },
        attrs, InputReads::none());
}

// Python's rule for a slice bound: negative counts from the end, then clamp into [0, n].
std::int64_t clamp_bound(std::int64_t i, std::int64_t n) {
    return std::clamp<std::int64_t>(i < 0 ? i + n : i, 0, n);
}

// dy of a piece of x starting at `begin` on `axis`, put between zeros to x's shape, by concat: the
// recorded form of narrowed()'s backward.
Tensor pad_along(const Tensor& dy, const Tensor& x, std::size_t axis, std::int64_t begin) {
    const auto zeros_of = [&](std::int64_t n) {
        Shape s = x.shape();
        s[axis] = n;
        return zeros(s, {.dtype = x.dtype()});
    };
    const std::int64_t after = x.shape()[axis] - begin - dy.shape()[axis];
    return concat({zeros_of(begin), dy, zeros_of(after)}, static_cast<std::int64_t>(axis));
}

struct NarrowAttrs {
    std::size_t axis;
    std::int64_t begin;
};

// y = x[..., begin:end, ...] on `axis`;  dx = zeros of x's shape with dy pasted at [begin, end)
Tensor narrowed(const char* op, const Tensor& x, std::size_t axis, std::int64_t begin,
                std::int64_t end) {
    const NarrowAttrs attrs{axis, begin};
    return record(
        op, {x}, kernels::narrow(x, axis, begin, end - begin), {},
        [](Backward& bw) {
            const Tensor& x = bw.input(0);
            const auto [axis, begin] = bw.attrs<NarrowAttrs>();
            if (bw.create_graph())
                return bw.accumulate(0, pad_along(bw.grad_out(), x, axis, begin));
            const Tensor dx = zeros(x.shape(), {.dtype = x.dtype()});
            kernels::narrow_assign(dx, bw.grad_out(), axis, begin);
            bw.accumulate(0, dx);
        },
        attrs, InputReads::none());
}

// The shape of concat(xs, axis): every input has the first one's dtype, rank and sizes off `axis`.
Shape concat_shape(const std::vector<Tensor>& xs, std::size_t axis) {
    Shape out = xs[0].shape();
    for (std::size_t i = 1; i < xs.size(); ++i) {
        const Shape& s = xs[i].shape();
        const auto operands = fmt::format("{} and {} along axis {}", xs[0].shape(), s, axis);
        if (xs[i].dtype() != xs[0].dtype())
            throw ValueError(fmt::format("concat: {}: dtypes differ ({} vs {})", operands,
                                         dtype_name(xs[0].dtype()), dtype_name(xs[i].dtype())));
        if (s.rank() != out.rank())
            throw_shape_error("concat", operands,
                              fmt::format("ranks differ ({} vs {})", out.rank(), s.rank()));
        for (std::size_t a = 0; a < s.rank(); ++a)
            if (a != axis && s[a] != out[a])
                throw_shape_error(
                    "concat", operands,
                    fmt::format("sizes differ on axis {} ({} vs {})", a, out[a], s[a]));
        out[axis] += s[axis];
    }
    return out;
}

// `from` repeats to `to` by NumPy rules without changing `to` (broadcast_to, masked_fill's mask).
void expect_broadcasts_to(const char* op, const std::string& operands, const Shape& from,
                          const Shape& to) {
    if (from.rank() > to.rank())
        throw_shape_error(
            op, operands,
            fmt::format("rank exceeds the target's ({} vs {})", from.rank(), to.rank()));
    const std::size_t shift = to.rank() - from.rank();
    for (std::size_t i = 0; i < from.rank(); ++i)
        if (from[i] != 1 && from[i] != to[i + shift])
            throw_shape_error(op, operands,
                              fmt::format("sizes differ on axis {} ({} vs {})", i + shift, from[i],
                                          to[i + shift]));
}

// Broadcast shape of where's three operands; the error names all three and the clashing axis.
Shape where_shape(const Shape& cond, const Shape& a, const Shape& b) {
    const Shape* shapes[] = {&cond, &a, &b};
    const std::size_t rank = std::max({cond.rank(), a.rank(), b.rank()});
    Shape out;
    for (std::size_t axis = 0; axis < rank; ++axis) {
        std::int64_t size = 1;
        for (const Shape* s : shapes) {
            const std::int64_t d = axis + s->rank() < rank ? 1 : (*s)[axis + s->rank() - rank];
            if (d != 1 && size != 1 && d != size)
                throw_shape_error(
                    "where", fmt::format("cond {}, a {}, b {}", cond, a, b),
                    fmt::format("shapes do not broadcast (axis {}: {} vs {})", axis, size, d));
            if (d != 1) size = d;
        }
        out.push_back(size);
    }
    return out;
}

void expect_mask(const char* op, const char* name, const Tensor& t) {
    if (t.dtype() != b8)
        throw ValueError(fmt::format("{}: {} {}: expected a b8 mask (got {})", op, name, t.shape(),
                                     dtype_name(t.dtype())));
}

void expect_floating(const char* op, const char* name, const Tensor& t) {
    if (!is_floating(t.dtype()))
        throw ValueError(fmt::format("{}: {} {}: expected f32 or f64 (got {})", op, name, t.shape(),
                                     dtype_name(t.dtype())));
}

Tensor scalar_like(const Tensor& t, double value) { return full({}, value, {.dtype = t.dtype()}); }

struct ConcatAttrs {
    std::size_t axis;
};

}  // namespace

// y = x viewed with another shape (storage shared);  dx = dy viewed with x's shape
Tensor reshape(const Tensor& x, const std::vector<std::int64_t>& shape) {
    return reshape_to(x, infer_shape(x.shape(), shape));
}

Tensor reshape_to(const Tensor& x, const Shape& shape) {
    if (shape.numel() != x.numel())
        throw_shape_error("reshape", fmt::format("{} to {}", x.shape(), shape),
                          fmt::format("sizes differ ({} vs {})", x.numel(), shape.numel()));
    return record(
        "reshape", {x}, x.view_as_shape(shape), {},
        [](Backward& bw) {
            const Shape& to = bw.input(0).shape();
            bw.accumulate(0, bw.create_graph() ? reshape_to(bw.grad_out(), to)
                                               : bw.grad_out().view_as_shape(to));
        },
        {}, InputReads::none());
}

Tensor transpose(const Tensor& x, std::int64_t axis0, std::int64_t axis1) {
    std::vector<std::size_t> axes(x.rank());
    for (std::size_t k = 0; k < axes.size(); ++k) axes[k] = k;
    std::swap(axes[normalize_axis("transpose", axis0, x.rank())],
              axes[normalize_axis("transpose", axis1, x.rank())]);
    return permuted("transpose", x, axes);
}

Tensor permute(const Tensor& x, const std::vector<std::int64_t>& axes) {
    return permuted("permute", x, resolve_permutation(x.shape(), axes));
}

Tensor slice(const Tensor& x, std::int64_t axis, std::int64_t start, std::int64_t stop) {
    const std::size_t a = normalize_axis("slice", axis, x.rank());
    const std::int64_t n = x.shape()[a], begin = clamp_bound(start, n);
    return narrowed("slice", x, a, begin, std::max(begin, clamp_bound(stop, n)));
}

// y = [x0 | x1 | ...] along axis;  dx_i = dy[..., offset_i : offset_i + n_i, ...]
Tensor concat(const std::vector<Tensor>& xs, std::int64_t axis) {
    if (xs.empty())
        throw ValueError("concat: an empty list of tensors: nothing to join (0 tensors)");
    const std::size_t a = normalize_axis("concat", axis, xs[0].rank());
    Tensor y = Tensor::empty(concat_shape(xs, a), xs[0].dtype());
    std::int64_t offset = 0;
    for (const Tensor& x : xs) {
        kernels::narrow_assign(y, x, a, offset);
        offset += x.shape()[a];
    }
    const ConcatAttrs attrs{a};
    return record(
        "concat", xs, y, {},
        [](Backward& bw) {
            const std::size_t axis = bw.attrs<ConcatAttrs>().axis;
            std::int64_t offset = 0;
            for (std::size_t i = 0; i < bw.num_inputs(); ++i) {
                const std::int64_t n = bw.input(i).shape()[axis];
                if (bw.needs(i))
                    bw.accumulate(i,
                                  bw.create_graph()
                                      ? narrowed("slice", bw.grad_out(), axis, offset, offset + n)
                                      : kernels::narrow(bw.grad_out(), axis, offset, n));
                offset += n;
            }
        },
        attrs, InputReads::none());
}

// Piece k is x[..., offset_k : offset_k + sizes[k], ...]; each piece is a slice on the tape.
std::vector<Tensor> split(const Tensor& x, const std::vector<std::int64_t>& sizes,
                          std::int64_t axis) {
    const std::size_t a = normalize_axis("split", axis, x.rank());
    const auto operands =
        fmt::format("{} into [{}] along axis {}", x.shape(), fmt::join(sizes, ","), a);
    std::int64_t total = 0;
    for (std::int64_t s : sizes) {
        if (s < 0) throw_shape_error("split", operands, fmt::format("negative size ({})", s));
        total += s;
    }
    if (total != x.shape()[a])
        throw_shape_error(
            "split", operands,
            fmt::format("sizes do not add up to the axis length ({} vs {})", total, x.shape()[a]));
    std::vector<Tensor> pieces;
    std::int64_t offset = 0;
    for (std::int64_t s : sizes) {
        pieces.push_back(narrowed("split", x, a, offset, offset + s));
        offset += s;
    }
    return pieces;
}

// y = x repeated along broadcast axes;  dx = dy summed back to x's shape (done by accumulate)
Tensor broadcast_to(const Tensor& x, const Shape& shape) {
    expect_broadcasts_to("broadcast_to", fmt::format("{} to {}", x.shape(), shape), x.shape(),
                         shape);
    return record(
        "broadcast_to", {x}, kernels::expand(x, shape), {},
        [](Backward& bw) { bw.accumulate(0, bw.grad_out()); }, {}, InputReads::none());
}

// y = cond ? a : b;  da = cond ? dy : 0,  db = cond ? 0 : dy  (accumulate sums each to its shape)
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
    expect_mask("where", "cond", cond);
    expect_floating("where", "a", a);
    if (a.dtype() != b.dtype())
        throw ValueError(fmt::format("where: a {} {}, b {} {}: dtypes differ", a.shape(),
                                     dtype_name(a.dtype()), b.shape(), dtype_name(b.dtype())));
    const Tensor y = kernels::select(cond, a, b, where_shape(cond.shape(), a.shape(), b.shape()));
    return record(
        "where", {cond, a, b}, y, {},
        [](Backward& bw) {
            const Tensor& dy = bw.grad_out();
            const Tensor zero = scalar_like(dy, 0.0);
            const auto pick = [&](const Tensor& a, const Tensor& b) {
                return bw.create_graph() ? where(bw.input(0), a, b)
                                         : kernels::select(bw.input(0), a, b, dy.shape());
            };
            if (bw.needs(1)) bw.accumulate(1, pick(dy, zero));
            if (bw.needs(2)) bw.accumulate(2, pick(zero, dy));
        },
        {}, InputReads::only({0}));
}

// y = mask ? value : x, mask broadcast to x;  dx = mask ? 0 : dy
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
    expect_mask("masked_fill", "mask", mask);
    expect_floating("masked_fill", "x", x);
    expect_broadcasts_to("masked_fill", fmt::format("x {}, mask {}", x.shape(), mask.shape()),
                         mask.shape(), x.shape());
    const Tensor y = kernels::select(mask, scalar_like(x, value), x, x.shape());
    return record(
        "masked_fill", {x, mask}, y, {},
        [](Backward& bw) {
            const Tensor& dy = bw.grad_out();
            bw.accumulate(0, bw.create_graph() ? masked_fill(dy, bw.input(1), 0.0)
                                               : kernels::select(bw.input(1), scalar_like(dy, 0.0),
                                                                 dy, dy.shape()));
        },
        {}, InputReads::only({1}));
}

}  // namespace tapegrad
