// Elementwise unary ops. Forward and backward formulas live in core/kernels/unary.cpp; this file
// records them on the tape. The output is saved because exp, sqrt, tanh and sigmoid differentiate
// most cheaply through it.
#include "autograd/ops/unary.hpp"

#include "autograd/tape.hpp"
#include "core/kernels/unary.hpp"

namespace tapegrad {
namespace {

struct UnaryAttrs {
    double c;  // the scalar of pow, add_scalar, mul_scalar
};

template <template <class> class K>
void unary_backward(Backward& bw) {
    const Tensor& x = bw.input(0);
    const Tensor& y = bw.saved(0);
    Tensor dx = Tensor::empty(x.shape(), x.dtype());
    const double c = bw.attrs<UnaryAttrs>().c;
    dispatch("backward", x.dtype(), [&]<class T>() {
        kernels::Unary<T, K>::backward(x.span<T>(), y.span<T>(), bw.grad_out().span<T>(),
                                       dx.span<T>(), c);
    });
    bw.accumulate(0, dx);
}

template <template <class> class K>
Tensor unary(const char* op, const Tensor& x, double c = 0.0) {
    Tensor y = Tensor::empty(x.shape(), x.dtype());
    dispatch(op, x.dtype(),
             [&]<class T>() { kernels::Unary<T, K>::forward(x.span<T>(), y.span<T>(), c); });
    return record(op, {x}, y, {y.detach()}, unary_backward<K>, UnaryAttrs{c});
}

}  // namespace

Tensor neg(const Tensor& x) { return unary<kernels::Neg>("neg", x); }
Tensor exp(const Tensor& x) { return unary<kernels::Exp>("exp", x); }
Tensor log(const Tensor& x) { return unary<kernels::Log>("log", x); }
Tensor sqrt(const Tensor& x) { return unary<kernels::Sqrt>("sqrt", x); }
Tensor tanh(const Tensor& x) { return unary<kernels::Tanh>("tanh", x); }
Tensor sigmoid(const Tensor& x) { return unary<kernels::Sigmoid>("sigmoid", x); }
Tensor relu(const Tensor& x) { return unary<kernels::Relu>("relu", x); }
Tensor gelu(const Tensor& x) { return unary<kernels::Gelu>("gelu", x); }
Tensor pow(const Tensor& x, double p) { return unary<kernels::PowScalar>("pow", x, p); }
Tensor add_scalar(const Tensor& x, double c) { return unary<kernels::AddScalar>("add_scalar", x, c); }
Tensor mul_scalar(const Tensor& x, double c) { return unary<kernels::MulScalar>("mul_scalar", x, c); }

Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& x, double c) { return add_scalar(x, c); }
Tensor operator+(double c, const Tensor& x) { return add_scalar(x, c); }
Tensor operator-(const Tensor& x, double c) { return add_scalar(x, -c); }
Tensor operator-(double c, const Tensor& x) { return add_scalar(neg(x), c); }
Tensor operator*(const Tensor& x, double c) { return mul_scalar(x, c); }
Tensor operator*(double c, const Tensor& x) { return mul_scalar(x, c); }
Tensor operator/(const Tensor& x, double c) { return mul_scalar(x, 1.0 / c); }

}  // namespace tapegrad
