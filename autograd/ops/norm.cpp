// Layer normalisation. Loops in core/kernels/layer_norm.cpp.
#include "autograd/ops/norm.hpp"

#include <fmt/format.h>

#include "autograd/ops/binary.hpp"
#include "autograd/ops/reduce.hpp"
#include "autograd/ops/shape.hpp"
#include "autograd/ops/unary.hpp"
#include "autograd/tape.hpp"
#include "core/kernels/layer_norm.hpp"

namespace tapegrad {
namespace {

// weight/bias: [C] of x's dtype; an undefined one becomes the constant `fill` (1 or 0).
Tensor affine_param(const Tensor& x, const Tensor& p, const char* name, double fill) {
    const std::int64_t width = x.shape().back();
    if (!p.defined()) return full({width}, fill, {.dtype = x.dtype()});
    if (!(p.shape() == Shape{width}))
        throw_shape_error(
            "layer_norm", fmt::format("x {}, {} {}", x.shape(), name, p.shape()),
            fmt::format("{} must be [C] with C the last axis of x ({})", name, width));
    if (p.dtype() != x.dtype())
        throw ValueError(fmt::format("layer_norm: x {} {} and {} {} {}: dtypes differ", x.shape(),
                                     dtype_name(x.dtype()), name, p.shape(),
                                     dtype_name(p.dtype())));
    return p;
}

template <class T>
T* data_if(const Tensor& t) {
    return t.defined() ? t.data<T>() : nullptr;
}

struct LayerNormAttrs {
    double eps;
};

// The same gradients as recorded ops, with x̂ and rstd recomputed from x (the saved mean and rstd
// have no history): dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), dw = dy·x̂, db = dy, the last two
// summed over the rows by accumulate.
void layer_norm_backward_recorded(Backward& bw) {
    const Tensor& x = bw.input(0);
    const Tensor& dy = bw.grad_out();
    const Tensor centred = sub(x, mean(x, {-1}, true));
    const Tensor var = mean(mul(centred, centred), {-1}, true);
    const Tensor rstd = pow(add_scalar(var, bw.attrs<LayerNormAttrs>().eps), -0.5);
    const Tensor x_hat = mul(centred, rstd);
    const Tensor g = mul(dy, bw.input(1));
    if (bw.needs(0))
        bw.accumulate(0, mul(rstd, sub(sub(g, mean(g, {-1}, true)),
                                       mul(x_hat, mean(mul(g, x_hat), {-1}, true)))));
    if (bw.needs(1)) bw.accumulate(1, mul(dy, x_hat));
    if (bw.needs(2)) bw.accumulate(2, dy);
}

}  // namespace

// y = x̂·w + b, x̂ = (x − mean)·rstd.  With g = dy·w:
// dx = rstd·(g − mean(g) − x̂·mean(g·x̂)),  dw = Σ_rows dy·x̂,  db = Σ_rows dy.
// mean and rstd are saved: backward needs them, and recomputing them costs a pass over x.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
    if (x.rank() == 0)
        throw_shape_error("layer_norm", fmt::format("x {}", x.shape()), "expected rank >= 1");
    const Tensor w = affine_param(x, weight, "weight", 1.0), b = affine_param(x, bias, "bias", 0.0);
    const std::int64_t width = x.shape().back(), rows = width == 0 ? 0 : x.numel() / width;
    Tensor y = Tensor::empty(x.shape(), x.dtype());
    Tensor mean = Tensor::empty({rows}, x.dtype()), rstd = Tensor::empty({rows}, x.dtype());
    dispatch("layer_norm", x.dtype(), [&]<class T>() {
        kernels::LayerNorm<T>::forward(x.data<T>(), w.data<T>(), b.data<T>(), y.data<T>(),
                                       mean.data<T>(), rstd.data<T>(), rows, width, eps);
    });
    return record(
        "layer_norm", {x, w, b}, y, {mean, rstd},
        [](Backward& bw) {
            if (bw.create_graph()) return layer_norm_backward_recorded(bw);
            const Tensor& x = bw.input(0);
            const std::int64_t width = x.shape().back(), rows = bw.saved(0).numel();
            const auto grad = [&](std::size_t i, const Shape& s) {
                return bw.needs(i) ? Tensor::empty(s, x.dtype()) : Tensor();
            };
            Tensor dx = grad(0, x.shape()), dw = grad(1, {width}), db = grad(2, {width});
            dispatch("layer_norm backward", x.dtype(), [&]<class T>() {
                kernels::LayerNorm<T>::backward(x.data<T>(), bw.input(1).data<T>(),
                                                bw.saved(0).data<T>(), bw.saved(1).data<T>(),
                                                bw.grad_out().data<T>(), data_if<T>(dx),
                                                data_if<T>(dw), data_if<T>(db), rows, width);
            });
            if (dx.defined()) bw.accumulate(0, dx);
            if (dw.defined()) bw.accumulate(1, dw);
            if (db.defined()) bw.accumulate(2, db);
        },
        LayerNormAttrs{eps});
}

}  // namespace tapegrad
