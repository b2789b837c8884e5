// Lookup by integer ids. Loops in core/kernels/embedding.cpp.
#include "autograd/ops/index.hpp"

#include <fmt/format.h>

#include "autograd/tape.hpp"
#include "core/kernels/embedding.hpp"

namespace tapegrad {
namespace {

void check_embedding(const Tensor& weight, const Tensor& ids) {
    expect_rank("embedding", "weight", weight.shape(), 2);
    if (ids.dtype() != i32)
        throw ValueError(fmt::format("embedding: ids {} {}: expected dtype i32 (token ids)",
                                     ids.shape(), dtype_name(ids.dtype())));
    if (ids.rank() + 1 > Shape::max_rank)
        throw_shape_error("embedding", fmt::format("ids {}", ids.shape()),
                          fmt::format("the output would exceed rank {}", Shape::max_rank));
    const std::int64_t vocab = weight.shape()[0];
    for (std::int32_t id : ids.span<std::int32_t>())
        if (id < 0 || id >= vocab)
            throw ValueError(
                fmt::format("embedding: id {} is outside the vocabulary [0, {})", id, vocab));
}

}  // namespace

// y[..., :] = weight[ids[...], :];  dweight[v] = Σ over positions holding id v of dy[position]
Tensor embedding(const Tensor& weight, const Tensor& ids) {
    check_embedding(weight, ids);
    const std::int64_t width = weight.shape()[1];
    Shape out_shape = ids.shape();
    out_shape.push_back(width);
    Tensor y = Tensor::empty(out_shape, weight.dtype());
    dispatch("embedding", weight.dtype(), [&]<class T>() {
        kernels::Embedding<T>::forward(weight.data<T>(), ids.data<std::int32_t>(), y.data<T>(),
                                       ids.numel(), width);
    });
    return record(
        "embedding", {weight, ids}, y, {},
        [](Backward& bw) {
            const Tensor& weight = bw.input(0);
            const Tensor& ids = bw.input(1);
            Tensor dweight = zeros(weight.shape(), {.dtype = weight.dtype()});
            dispatch("embedding backward", weight.dtype(), [&]<class T>() {
                kernels::Embedding<T>::backward(bw.grad_out().data<T>(), ids.data<std::int32_t>(),
                                                dweight.data<T>(), ids.numel(), weight.shape()[1]);
            });
            bw.accumulate(0, dweight);
        },
        {}, InputReads::only({1}));
}

}  // namespace tapegrad
