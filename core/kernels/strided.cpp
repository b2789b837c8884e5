#include "core/kernels/strided.hpp"

#include <cstring>

#include "core/kernels/walk.hpp"

namespace tapegrad::kernels {
namespace {

// A copy of every element of `shape`, read from the source through strides[0] and written to the
// destination through strides[1].
struct Layout {
    Shape shape;
    std::array<Strides, 2> strides{};
};

// Drops size-1 axes and merges neighbouring axes that are contiguous in both source and
// destination, so rows are as long as possible: a slice along axis 0 becomes one memcpy.
Layout coalesce(const Layout& in) {
    Layout out;
    for (std::size_t axis = 0; axis < in.shape.rank(); ++axis) {
        const std::int64_t n = in.shape[axis];
        if (n == 1) continue;
        const std::size_t r = out.shape.rank();
        const bool merge = r > 0 && out.strides[0][r - 1] == in.strides[0][axis] * n &&
                           out.strides[1][r - 1] == in.strides[1][axis] * n;
        const std::size_t slot = merge ? r - 1 : r;
        if (merge)
            out.shape[slot] *= n;
        else
            out.shape.push_back(n);
        for (std::size_t k = 0; k < 2; ++k) out.strides[k][slot] = in.strides[k][axis];
    }
    return out;
}

// E is an unsigned integer as wide as the element: only the bits move.
template <class E>
struct StridedCopy {
    static void run(const void* src, void* dst, const Layout& layout) {
        const E* s = static_cast<const E*>(src);
        E* d = static_cast<E*>(dst);
        for_each_row<2>(
            layout.shape, layout.strides,
            [&](std::array<std::int64_t, 2> at, std::int64_t n, std::array<std::int64_t, 2> step) {
                if (step[0] == 1 && step[1] == 1)
                    return void(std::memcpy(d + at[1], s + at[0], n * sizeof(E)));
                for (std::int64_t k = 0; k < n; ++k)
                    d[at[1] + k * step[1]] = s[at[0] + k * step[0]];
            });
    }
};

// Copies `layout` from src + src_offset to dst + dst_offset (offsets in elements).
void copy(const Tensor& src, std::int64_t src_offset, const Tensor& dst, std::int64_t dst_offset,
          const Layout& layout) {
    if (layout.shape.numel() == 0) return;
    const Layout tight = coalesce(layout);
    const std::size_t width = dtype_size(src.dtype());
    const auto* s = static_cast<const std::byte*>(src.raw_data()) + src_offset * width;
    auto* d = static_cast<std::byte*>(dst.raw_data()) + dst_offset * width;
    switch (width) {
        case 1:
            return StridedCopy<std::uint8_t>::run(s, d, tight);
        case 4:
            return StridedCopy<std::uint32_t>::run(s, d, tight);
        default:
            return StridedCopy<std::uint64_t>::run(s, d, tight);
    }
}

}  // namespace

Tensor permute(const Tensor& x, std::span<const std::size_t> axes) {
    Layout layout;
    const Strides own = x.shape().strides();
    for (std::size_t i = 0; i < axes.size(); ++i) {
        layout.shape.push_back(x.shape()[axes[i]]);
        layout.strides[0][i] = own[axes[i]];
    }
    Tensor out = Tensor::empty(layout.shape, x.dtype());
    layout.strides[1] = layout.shape.strides();
    copy(x, 0, out, 0, layout);
    return out;
}

Tensor narrow(const Tensor& x, std::size_t axis, std::int64_t start, std::int64_t length) {
    Layout layout{x.shape(), {x.shape().strides(), {}}};
    layout.shape[axis] = length;
    layout.strides[1] = layout.shape.strides();
    Tensor out = Tensor::empty(layout.shape, x.dtype());
    copy(x, start * layout.strides[0][axis], out, 0, layout);
    return out;
}

void narrow_assign(const Tensor& dst, const Tensor& src, std::size_t axis, std::int64_t start) {
    const Layout layout{src.shape(), {src.shape().strides(), dst.shape().strides()}};
    copy(src, 0, dst, start * layout.strides[1][axis], layout);
}

}  // namespace tapegrad::kernels
