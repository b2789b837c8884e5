// Loops of the elementwise unary ops. forward: y = f(x). backward: dx = dy · f'(x), where f' may be
// written with x or with the saved output y, whichever is cheaper. `c` is the op's scalar argument.
#pragma once

#include <span>

namespace tapegrad::kernels {

#define TG_UNARY_KERNEL(Name)                                                                 \
    template <class T>                                                                        \
    struct Name {                                                                             \
        static void forward(std::span<const T> x, std::span<T> y, double c);                  \
        static void backward(std::span<const T> x, std::span<const T> y, std::span<const T> dy, \
                             std::span<T> dx, double c);                                      \
    };

TG_UNARY_KERNEL(Neg)
TG_UNARY_KERNEL(Exp)
TG_UNARY_KERNEL(Log)
TG_UNARY_KERNEL(Sqrt)
TG_UNARY_KERNEL(Tanh)
TG_UNARY_KERNEL(Sigmoid)
TG_UNARY_KERNEL(Relu)
TG_UNARY_KERNEL(Gelu)
TG_UNARY_KERNEL(PowScalar)
TG_UNARY_KERNEL(AddScalar)
TG_UNARY_KERNEL(MulScalar)

#undef TG_UNARY_KERNEL

}  // namespace tapegrad::kernels
