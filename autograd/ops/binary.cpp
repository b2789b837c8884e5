// Broadcasting elementwise ops. accumulate() sums each gradient back to its input's shape, so the
// backward functions below are written as if nothing were broadcast.
#include "autograd/ops/binary.hpp"

#include <fmt/format.h>

#include "autograd/ops/unary.hpp"
#include "autograd/tape.hpp"
#include "core/kernels/broadcast.hpp"

namespace tapegrad {
namespace {

using kernels::BinaryOp;

Tensor forward(const char* op, BinaryOp kind, const Tensor& a, const Tensor& b) {
    if (a.dtype() != b.dtype())
        throw ValueError(fmt::format("{}: {} {} and {} {}: dtypes differ", op, a.shape(),
                                     dtype_name(a.dtype()), b.shape(), dtype_name(b.dtype())));
    return kernels::binary(kind, a, b, broadcast_shapes(op, a.shape(), b.shape()));
}

}  // namespace

// d(a+b) = dy, dy
Tensor add(const Tensor& a, const Tensor& b) {
    return record(
        "add", {a, b}, forward("add", BinaryOp::add, a, b), {},
        [](Backward& bw) {
            bw.accumulate(0, bw.grad_out());
            bw.accumulate(1, bw.grad_out());
        },
        {}, InputReads::none());
}

// d(a−b) = dy, −dy
Tensor sub(const Tensor& a, const Tensor& b) {
    return record(
        "sub", {a, b}, forward("sub", BinaryOp::sub, a, b), {},
        [](Backward& bw) {
            bw.accumulate(0, bw.grad_out());
            if (bw.needs(1)) bw.accumulate(1, neg(bw.grad_out()));
        },
        {}, InputReads::none());
}

// d(a·b) = dy·b, dy·a
Tensor mul(const Tensor& a, const Tensor& b) {
    return record("mul", {a, b}, forward("mul", BinaryOp::mul, a, b), {}, [](Backward& bw) {
        if (bw.needs(0)) bw.accumulate(0, mul(bw.grad_out(), bw.input(1)));
        if (bw.needs(1)) bw.accumulate(1, mul(bw.grad_out(), bw.input(0)));
    });
}

// d(a/b) = dy/b, −dy·y/b  with y = a/b saved (recomputed from a and b when creating a graph: the
// saved copy is detached)
Tensor div(const Tensor& a, const Tensor& b) {
    Tensor y = forward("div", BinaryOp::div, a, b);
    return record(
        "div", {a, b}, y, {y.detach()},
        [](Backward& bw) {
            if (bw.needs(0)) bw.accumulate(0, div(bw.grad_out(), bw.input(1)));
            if (!bw.needs(1)) return;
            const Tensor y = bw.create_graph() ? div(bw.input(0), bw.input(1)) : bw.saved(0);
            bw.accumulate(1, neg(div(mul(bw.grad_out(), y), bw.input(1))));
        },
        {}, InputReads::all());  // create_graph recomputes a/b
}

// d(a^b) = dy·b·a^(b−1), dy·y·ln a  with y = a^b saved (recomputed as for div)
Tensor pow(const Tensor& a, const Tensor& b) {
    Tensor y = forward("pow", BinaryOp::pow, a, b);
    return record("pow", {a, b}, y, {y.detach()}, [](Backward& bw) {
        const Tensor& a = bw.input(0);
        const Tensor& b = bw.input(1);
        if (bw.needs(0)) bw.accumulate(0, mul(bw.grad_out(), mul(b, pow(a, add_scalar(b, -1.0)))));
        if (!bw.needs(1)) return;
        const Tensor y = bw.create_graph() ? pow(a, b) : bw.saved(0);
        bw.accumulate(1, mul(bw.grad_out(), mul(y, log(a))));
    });
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }

}  // namespace tapegrad
