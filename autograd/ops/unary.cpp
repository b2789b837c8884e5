// Elementwise unary ops. Forward and backward formulas live in core/kernels/unary.cpp; this file
// records them on the tape. exp, sqrt, tanh and sigmoid differentiate most cheaply through their
// output, so they save it; the others do not, so gelu keeps no hold on its output (the next
// product's input, which bf16 mixed precision keeps only as a bf16 copy).
#include "autograd/ops/unary.hpp"

#include <vector>

#include "autograd/ops/binary.hpp"
#include "autograd/tape.hpp"
#include "core/kernels/unary.hpp"

namespace tapegrad {
namespace {

struct UnaryAttrs {
    double c;  // the scalar of pow, add_scalar, mul_scalar
};

// Which of x and y = f(x) an op's derivative is written with (the formula ignores the other).
enum class Derivative { of_x, of_y };

// dy/dx for a backward that creates a graph. By default the kernel's own backward with dy = 1, a
// constant: right for the ops whose derivative does not vary smoothly with x (neg, relu,
// add_scalar, mul_scalar). The others build it from recorded ops on x below: their saved output
// is detached, so they recompute it.
template <template <class> class K>
Tensor derivative(const Tensor& x, double c) {
    NoGrad constant;
    const Tensor one = ones(x.shape(), {.dtype = x.dtype()});
    Tensor d = Tensor::empty(x.shape(), x.dtype());
    dispatch("backward", x.dtype(), [&]<class T>() {
        kernels::Unary<T, K>::backward(x.span<T>(), x.span<T>(), one.span<T>(), d.span<T>(), c);
    });
    return d;
}
template <>
Tensor derivative<kernels::Exp>(const Tensor& x, double) {
    return exp(x);
}
template <>
Tensor derivative<kernels::Log>(const Tensor& x, double) {
    return pow(x, -1.0);
}
template <>
Tensor derivative<kernels::Sqrt>(const Tensor& x, double) {
    return mul_scalar(pow(x, -0.5), 0.5);
}
template <>
Tensor derivative<kernels::Tanh>(const Tensor& x, double) {
    const Tensor t = tanh(x);
    return add_scalar(neg(mul(t, t)), 1.0);
}
template <>
Tensor derivative<kernels::Sigmoid>(const Tensor& x, double) {
    const Tensor s = sigmoid(x);
    return mul(s, add_scalar(neg(s), 1.0));
}
// 0.5·(1 + t) + 0.5·x·(1 − t²)·du,  t = tanh(u), u = a·(x + b·x³), du = a·(1 + 3b·x²)
template <>
Tensor derivative<kernels::Gelu>(const Tensor& x, double) {
    const double a = 0.7978845608028654, b = 0.044715;  // √(2/π) and the cubic's weight
    const Tensor t = tanh(mul_scalar(add(x, mul_scalar(pow(x, 3.0), b)), a));
    const Tensor du = add_scalar(mul_scalar(mul(x, x), 3 * a * b), a);
    const Tensor one_minus_t2 = add_scalar(neg(mul(t, t)), 1.0);
    return add(mul_scalar(add_scalar(t, 1.0), 0.5), mul_scalar(mul(mul(x, one_minus_t2), du), 0.5));
}
template <>
Tensor derivative<kernels::PowScalar>(const Tensor& x, double p) {
    return mul_scalar(pow(x, p - 1.0), p);
}

template <template <class> class K>
void unary_backward(Backward& bw) {
    const Tensor& x = bw.input(0);
    const double c = bw.attrs<UnaryAttrs>().c;
    if (bw.create_graph()) return bw.accumulate(0, mul(bw.grad_out(), derivative<K>(x, c)));
    const Tensor& y = bw.num_saved() > 0 ? bw.saved(0) : x;  // of_x: any span of x's size will do
    Tensor dx = Tensor::empty(x.shape(), x.dtype());
    dispatch("backward", x.dtype(), [&]<class T>() {
        kernels::Unary<T, K>::backward(x.span<T>(), y.span<T>(), bw.grad_out().span<T>(),
                                       dx.span<T>(), c);
    });
    bw.accumulate(0, dx);
}

template <template <class> class K>
Tensor unary(const char* op, const Tensor& x, Derivative d, double c = 0.0) {
    Tensor y = Tensor::empty(x.shape(), x.dtype());
    dispatch(op, x.dtype(),
             [&]<class T>() { kernels::Unary<T, K>::forward(x.span<T>(), y.span<T>(), c); });
    std::vector<Tensor> saved;
    if (d == Derivative::of_y) saved.push_back(y.detach());
    return record(op, {x}, y, std::move(saved), unary_backward<K>, UnaryAttrs{c});
}

}  // namespace

Tensor neg(const Tensor& x) { return unary<kernels::Neg>("neg", x, Derivative::of_x); }
Tensor exp(const Tensor& x) { return unary<kernels::Exp>("exp", x, Derivative::of_y); }
Tensor log(const Tensor& x) { return unary<kernels::Log>("log", x, Derivative::of_x); }
Tensor sqrt(const Tensor& x) { return unary<kernels::Sqrt>("sqrt", x, Derivative::of_y); }
Tensor tanh(const Tensor& x) { return unary<kernels::Tanh>("tanh", x, Derivative::of_y); }
Tensor sigmoid(const Tensor& x) { return unary<kernels::Sigmoid>("sigmoid", x, Derivative::of_y); }
Tensor relu(const Tensor& x) { return unary<kernels::Relu>("relu", x, Derivative::of_x); }
Tensor gelu(const Tensor& x) { return unary<kernels::Gelu>("gelu", x, Derivative::of_x); }
Tensor pow(const Tensor& x, double p) {
    return unary<kernels::PowScalar>("pow", x, Derivative::of_x, p);
}
Tensor add_scalar(const Tensor& x, double c) {
    return unary<kernels::AddScalar>("add_scalar", x, Derivative::of_x, c);
}
Tensor mul_scalar(const Tensor& x, double c) {
    return unary<kernels::MulScalar>("mul_scalar", x, Derivative::of_x, c);
}

Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& x, double c) { return add_scalar(x, c); }
Tensor operator+(double c, const Tensor& x) { return add_scalar(x, c); }
Tensor operator-(const Tensor& x, double c) { return add_scalar(x, -c); }
Tensor operator-(double c, const Tensor& x) { return add_scalar(neg(x), c); }
Tensor operator*(const Tensor& x, double c) { return mul_scalar(x, c); }
Tensor operator*(double c, const Tensor& x) { return mul_scalar(x, c); }
Tensor operator/(const Tensor& x, double c) { return mul_scalar(x, 1.0 / c); }

}  // namespace tapegrad
