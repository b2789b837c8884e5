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

// dweight[v] = Σ over positions p with ids[p] = v of dy[p], recorded for a backward that creates a
// graph: linear in dy, so its own backward is the lookup again, ddy[p] = G[ids[p]].
Tensor scatter_rows(const Tensor& dy, const Tensor& ids, const Shape& weight_shape) {
    Tensor dweight = zeros(weight_shape, {.dtype = dy.dtype()});
    dispatch("embedding backward", dy.dtype(), [&]<class T>() {
        kernels::Embedding<T>::backward(dy.data<T>(), ids.data<std::int32_t>(), dweight.data<T>(),
                                        ids.numel(), weight_shape[1]);
    });
    return record("embedding_backward", {dy, ids}, dweight, {},
                  [](Backward& bw) { bw.accumulate(0, embedding(bw.grad_out(), bw.input(1))); });
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
            bw.accumulate(0, scatter_rows(bw.grad_out(), bw.input(1), bw.input(0).shape()));
        },
        {}, InputReads::only({1}));
}

}  // namespace tapegrad
