// Loops of the elementwise unary ops. forward: y = f(x). backward: dx = dy · f'(x), where f' may be
// written with x or with the saved output y, whichever is cheaper. `c` is the op's scalar argument.
#pragma once

#include <span>

namespace tapegrad::kernels {

// Op<T> is one of the formula structs below, defined next to the loops in unary.cpp.
template <class T, template <class> class Op>
struct Unary {
    static void forward(std::span<const T> x, std::span<T> y, double c);
    static void backward(std::span<const T> x, std::span<const T> y, std::span<const T> dy,
                         std::span<T> dx, double c);
};

template <class T>
struct Neg;
template <class T>
struct Exp;
template <class T>
struct Log;
template <class T>
struct Sqrt;
template <class T>
struct Tanh;
template <class T>
struct Sigmoid;
template <class T>
struct Relu;
template <class T>
struct Gelu;
template <class T>
struct PowScalar;
template <class T>
struct AddScalar;
template <class T>
struct MulScalar;

}  // namespace tapegrad::kernels
