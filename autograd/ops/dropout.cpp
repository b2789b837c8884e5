// Dropout. Loops in core/kernels/dropout.cpp.
#include "autograd/ops/dropout.hpp"

#include <fmt/format.h>

#include "autograd/ops/binary.hpp"
#include "autograd/ops/shape.hpp"
#include "autograd/tape.hpp"
#include "core/kernels/dropout.hpp"

namespace tapegrad {

// y = x·keep/(1 − rate), keep ~ Bernoulli(1 − rate) saved as b8;  dx = dy·keep/(1 − rate)
namespace {

struct DropoutAttrs {
    double rate;
};

}  // namespace

Tensor dropout(const Tensor& x, double rate, Generator& gen) {
    if (!(rate >= 0.0 && rate < 1.0))
        throw ValueError(
            fmt::format("dropout: x {}: rate must be in [0, 1) (got {})", x.shape(), rate));
    if (rate == 0.0) return x;
    Tensor keep = Tensor::empty(x.shape(), b8);
    Tensor y = Tensor::empty(x.shape(), x.dtype());
    dispatch("dropout", x.dtype(), [&]<class T>() {
        kernels::Dropout<T>::forward(x.data<T>(), keep.data<std::uint8_t>(), y.data<T>(), x.numel(),
                                     rate, gen);
    });
    const DropoutAttrs attrs{rate};
    return record(
        "dropout", {x}, y, {keep},
        [](Backward& bw) {
            const Tensor& dy = bw.grad_out();
            const double rate = bw.attrs<DropoutAttrs>().rate;
            if (bw.create_graph()) {  // dy times a constant, recorded
                const Tensor scale = full({}, 1.0 / (1.0 - rate), {.dtype = dy.dtype()});
                const Tensor zero = zeros({}, {.dtype = dy.dtype()});
                return bw.accumulate(0, mul(dy, where(bw.saved(0), scale, zero)));
            }
            Tensor dx = Tensor::empty(dy.shape(), dy.dtype());
            dispatch("dropout backward", dy.dtype(), [&]<class T>() {
                kernels::Dropout<T>::backward(dy.data<T>(), bw.saved(0).data<std::uint8_t>(),
                                              dx.data<T>(), dy.numel(), rate);
            });
            bw.accumulate(0, dx);
        },
        attrs, InputReads::none());
}

}  // namespace tapegrad
