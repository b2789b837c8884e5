// Softmax, log-softmax and the attention core. Loops in core/kernels/softmax.cpp; each op saves its
// output, from which both backward formulas are cheapest.
#include "autograd/ops/softmax.hpp"

#include <fmt/format.h>

#include "autograd/tape.hpp"
#include "core/kernels/softmax.hpp"

namespace tapegrad {
namespace {

// softmax:     y = exp(x − max) / Σ exp(x − max);  dx = y ⊙ (dy − Σ dy⊙y)
// log_softmax: y = x − max − log Σ exp(x − max);   dx = dy − exp(y)·Σ dy
struct SoftmaxAttrs {
    std::size_t axis;
    bool log;  // log_softmax
};

struct MaskedSoftmaxAttrs {
    double scale;
    bool causal;
};

Tensor softmax_along(const char* op, const Tensor& x, std::int64_t axis, bool log) {
    const std::size_t ax = normalize_axis(op, axis, x.rank());
    Tensor y = Tensor::empty(x.shape(), x.dtype());
    dispatch(op, x.dtype(), [&]<class T>() {
        kernels::Softmax<T>::forward(x.data<T>(), y.data<T>(), kernels::axis_layout(x.shape(), ax),
                                     log);
    });
    const SoftmaxAttrs attrs{ax, log};
    return record(
        op, {x}, y, {y.detach()},
        [](Backward& bw) {
            const Tensor& y = bw.saved(0);
            const SoftmaxAttrs attrs = bw.attrs<SoftmaxAttrs>();
            const auto layout = kernels::axis_layout(y.shape(), attrs.axis);
            Tensor dx = Tensor::empty(y.shape(), y.dtype());
            dispatch("softmax backward", y.dtype(), [&]<class T>() {
                kernels::Softmax<T>::backward(y.data<T>(), bw.grad_out().data<T>(), dx.data<T>(),
                                              layout, attrs.log);
            });
            bw.accumulate(0, dx);
        },
        attrs, InputReads::none());
}

// Checks the operands and describes which positions are kept.
kernels::KeepMask keep_mask(const Tensor& scores, const Tensor& mask, bool causal) {
    const char* op = "masked_softmax";
    if (scores.rank() < (causal ? 2u : 1u))
        throw_shape_error(
            op, fmt::format("scores {}", scores.shape()),
            fmt::format("expected rank >= {}{} (got {})", causal ? 2 : 1,
                        causal ? " [..., Tq, Tk] for a causal mask" : "", scores.rank()));
    if (!mask.defined()) return kernels::keep_mask(scores.shape(), nullptr, {}, causal);
    if (mask.dtype() != b8)
        throw ValueError(fmt::format("{}: mask {} {}: expected dtype b8 (1 = keep)", op,
                                     mask.shape(), dtype_name(mask.dtype())));
    if (!broadcasts_to(mask.shape(), scores.shape()))
        throw_shape_error(op, fmt::format("scores {}, mask {}", scores.shape(), mask.shape()),
                          "the mask does not broadcast to the scores");
    return kernels::keep_mask(scores.shape(), mask.data<std::uint8_t>(), mask.shape(), causal);
}

}  // namespace

Tensor softmax(const Tensor& x, std::int64_t axis) {
    return softmax_along("softmax", x, axis, false);
}
Tensor log_softmax(const Tensor& x, std::int64_t axis) {
    return softmax_along("log_softmax", x, axis, true);
}

// y = softmax(scale·scores, masked → −1e9);  dscores = scale·y ⊙ (dy − Σ dy⊙y) where kept, else 0
Tensor masked_softmax(const Tensor& scores, const Tensor& mask, double scale, bool causal) {
    const kernels::KeepMask keep = keep_mask(scores, mask, causal);
    Tensor y = Tensor::empty(scores.shape(), scores.dtype());
    dispatch("masked_softmax", scores.dtype(), [&]<class T>() {
        kernels::MaskedSoftmax<T>::forward(scores.data<T>(), y.data<T>(), keep,
                                           static_cast<T>(scale));
    });
    const MaskedSoftmaxAttrs attrs{scale, causal};
    return record(
        "masked_softmax", {scores}, y, {y.detach(), mask},
        [](Backward& bw) {
            const Tensor& y = bw.saved(0);
            const MaskedSoftmaxAttrs attrs = bw.attrs<MaskedSoftmaxAttrs>();
            const kernels::KeepMask keep = keep_mask(y, bw.saved(1), attrs.causal);
            Tensor dscores = Tensor::empty(y.shape(), y.dtype());
            dispatch("masked_softmax backward", y.dtype(), [&]<class T>() {
                kernels::MaskedSoftmax<T>::backward(y.data<T>(), bw.grad_out().data<T>(),
                                                    dscores.data<T>(), keep,
                                                    static_cast<T>(attrs.scale));
            });
            bw.accumulate(0, dscores);
        },
        attrs, InputReads::none());
}

}  // namespace tapegrad
