// Copies that move elements without changing them: permuting axes and cutting or pasting a range
// along one axis. They work on every dtype (the bits are copied, never interpreted).
#pragma once

#include <cstdint>
#include <span>

#include "core/tensor.hpp"

namespace tapegrad::kernels {

// out [x.shape[axes[0]], x.shape[axes[1]], ...] with out[i0, i1, ...] = x[..., i_k on axis axes[k],
// ...].
Tensor permute(const Tensor& x, std::span<const std::size_t> axes);
// x[..., start : start + length, ...] along `axis`, as a new tensor.
Tensor narrow(const Tensor& x, std::size_t axis, std::int64_t start, std::int64_t length);
// dst[..., start : start + src.shape[axis], ...] = src; every other axis of dst equals src's.
void narrow_assign(const Tensor& dst, const Tensor& src, std::size_t axis, std::int64_t start);

}  // namespace tapegrad::kernels
