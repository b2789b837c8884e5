// Softmax, log-softmax and the attention core. Loops in core/kernels/softmax.cpp; each op saves its
// output, from which both backward formulas are cheapest.
#include "autograd/ops/softmax.hpp"

#include <fmt/format.h>

#include "autograd/ops/binary.hpp"
#include "autograd/ops/reduce.hpp"
#include "autograd/ops/shape.hpp"
#include "autograd/ops/unary.hpp"
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

// y ⊙ (dy − Σ dy⊙y) along `axis` as recorded ops, y being the node's output as a tensor of the
// node (Backward::output): second derivatives go through the softmax's own backward, so the
// scores, which the node keeps only as a link, are never needed.
Tensor softmax_grad(const Tensor& y, const Tensor& dy, std::int64_t axis) {
    return mul(y, sub(dy, sum(mul(dy, y), {axis}, true)));
}

void softmax_backward_recorded(Backward& bw);
void masked_softmax_backward_recorded(Backward& bw);

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
            if (bw.create_graph()) return softmax_backward_recorded(bw);
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

// softmax: y ⊙ (dy − Σ dy⊙y);  log_softmax: dy − softmax(x)·Σ dy
void softmax_backward_recorded(Backward& bw) {
    const SoftmaxAttrs attrs = bw.attrs<SoftmaxAttrs>();
    const auto axis = static_cast<std::int64_t>(attrs.axis);
    const Tensor& dy = bw.grad_out();
    const Tensor y = bw.output(0);
    const Tensor p = attrs.log ? exp(y) : y;
    bw.accumulate(0,
                  attrs.log ? sub(dy, mul(p, sum(dy, {axis}, true))) : softmax_grad(p, dy, axis));
}

// b8 of the scores' shape, 1 where `keep` keeps the position.
Tensor kept_positions(const Shape& scores, const kernels::KeepMask& keep) {
    const std::int64_t tk = keep.tk, rows = tk == 0 ? 0 : scores.numel() / tk;
    std::vector<std::uint8_t> bits(static_cast<std::size_t>(scores.numel()));
    for (std::int64_t r = 0; r < rows; ++r) {
        const std::uint8_t* row = keep.row(r);
        for (std::int64_t j = 0; j < tk; ++j)
            bits[r * tk + j] =
                (!row || row[j * keep.key_stride]) && (!keep.causal || j <= keep.query(r));
    }
    return mask(bits, scores);
}

// scale·y ⊙ (dy − Σ dy⊙y) where kept, 0 elsewhere, y the node's output
void masked_softmax_backward_recorded(Backward& bw) {
    const MaskedSoftmaxAttrs attrs = bw.attrs<MaskedSoftmaxAttrs>();
    const Tensor& mask = bw.saved(1);
    const Tensor y = bw.output(0);
    const Tensor kept = kept_positions(y.shape(), keep_mask(y, mask, attrs.causal));
    const Tensor g = mul_scalar(softmax_grad(y, bw.grad_out(), -1), attrs.scale);
    bw.accumulate(0, where(kept, g, zeros({}, {.dtype = g.dtype()})));
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
            if (bw.create_graph()) return masked_softmax_backward_recorded(bw);
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
