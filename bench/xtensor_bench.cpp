// A/B of each kernel family: the hand-written kernel against the same work written as an xtensor
// expression over views of the same buffers (as_xtensor), built as library kernels would be:
// XTENSOR_USE_XSIMD, and XTENSOR_USE_OPENMP splitting contiguous assignments above the kernels'
// parallel threshold. Both write into a fresh tensor from the storage pool, and must agree to
// within float rounding. Median of 21 runs, in ns per element of the larger operand; prints the
// markdown table of docs/benchmarks.md.
//   build/xtensor_bench        OMP_NUM_THREADS=1 build/xtensor_bench
#include <fmt/format.h>

#include <functional>
#include <string>
#include <vector>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xsort.hpp>

#include "core/kernels/broadcast.hpp"
#include "core/kernels/softmax.hpp"
#include "core/kernels/unary.hpp"
#include "core/xtensor.hpp"
#include "median_time.hpp"

using namespace tapegrad;
namespace k = tapegrad::kernels;

namespace {

struct Row {
    const char* family;
    std::string kernel;
    Shape shape;                            // of the larger operand: ns are per element of it
    std::function<Tensor()> hand, xtensor;  // each returns its result
};

auto view(const Tensor& t) { return as_xtensor<const float>(t); }

// A new tensor of `shape` holding `expr`, assigned as a library kernel would.
template <class E>
Tensor assign(const Shape& shape, const E& expr) {
    Tensor out = Tensor::empty(shape, f32);
    xt::noalias(as_xtensor<float>(out)) = expr;
    return out;
}

template <class X>
auto gelu(const X& x) {  // GPT-2's tanh approximation, as core/kernels/unary.cpp
    return 0.5f * x * (1.0f + xt::tanh(0.7978845608f * (x + 0.044715f * x * x * x)));
}

template <template <class> class Op, class Expr>
Row unary(std::string name, const Tensor& x, double c, Expr expr) {
    return {"unary", name, x.shape(),
            [=] {
                Tensor y = Tensor::empty(x.shape(), f32);
                k::Unary<float, Op>::forward(x.span<float>(), y.span<float>(), c);
                return y;
            },
            [=] { return assign(x.shape(), expr(view(x))); }};
}

Row binary(std::string name, k::BinaryOp op, const Tensor& a, const Tensor& b) {
    const Shape out = broadcast_shapes("bench", a.shape(), b.shape());
    return {"binary", name, out, [=] { return k::binary(op, a, b, out); },
            [=] {
                if (op == k::BinaryOp::add) return assign(out, view(a) + view(b));
                return assign(out, view(a) * view(b));
            }};
}

Row reduce(std::string name, bool max, const Tensor& x, std::size_t axis) {
    Shape keep = x.shape();
    keep[axis] = 1;
    return {"reduce", name, x.shape(),
            [=] { return max ? k::max_keepdims(x, {axis}) : k::sum_keepdims(x, {axis}); },
            [=] {
                if (max) return assign(keep, xt::amax(view(x), {axis}, xt::keep_dims));
                return assign(keep, xt::sum(view(x), {axis}, xt::keep_dims));
            }};
}

Row softmax_rows(const Tensor& x) {
    return {"row", "softmax over the last axis", x.shape(),
            [=] {
                Tensor y = Tensor::empty(x.shape(), f32);
                k::Softmax<float>::forward(x.data<float>(), y.data<float>(),
                                           k::axis_layout(x.shape(), x.rank() - 1), false);
                return y;
            },
            [=] {
                // Each reducer evaluated first: xtensor 0.24 broadcasts a lazy keep_dims reducer
                // wrongly inside a larger expression (STYLE.md §12).
                const std::size_t last = x.rank() - 1;
                const auto v = view(x);
                const xt::xarray<float> max = xt::amax(v, {last}, xt::keep_dims);
                const xt::xarray<float> e = xt::exp(v - max);
                const xt::xarray<float> sum = xt::sum(e, {last}, xt::keep_dims);
                return assign(x.shape(), e / sum);
            }};
}

std::vector<Row> rows() {
    const auto data = [](const Shape& s, std::uint64_t seed) {
        return uniform(s, -2, 2, {.seed = seed});
    };
    const Tensor big = data({1024, 1024}, 1);  // a GPT MLP activation: 16 × 128 tokens × 4·128 wide
    const Tensor flat = big.view_as_shape({1 << 20});
    const Tensor positive = uniform({1 << 20}, 0.1, 3, {.seed = 8});  // log, sqrt and pow's domain
    return {
        unary<k::Gelu>("gelu", flat, 0, [](const auto& x) { return gelu(x); }),
        unary<k::Tanh>("tanh", flat, 0, [](const auto& x) { return xt::tanh(x); }),
        unary<k::Exp>("exp", flat, 0, [](const auto& x) { return xt::exp(x); }),
        unary<k::Relu>("relu", flat, 0, [](const auto& x) { return xt::maximum(x, 0.0f); }),
        unary<k::Log>("log", positive, 0, [](const auto& x) { return xt::log(x); }),
        unary<k::Sqrt>("sqrt", positive, 0, [](const auto& x) { return xt::sqrt(x); }),
        unary<k::PowScalar>("pow 1.5", positive, 1.5,
                            [](const auto& x) { return xt::pow(x, 1.5f); }),
        unary<k::MulScalar>("mul by a scalar", flat, 0.5, [](const auto& x) { return x * 0.5f; }),
        binary("add, same shapes", k::BinaryOp::add, big, data({1024, 1024}, 2)),
        binary("add a bias row [C]", k::BinaryOp::add, big, data({1024}, 3)),
        binary("add positions [T,C] to [B,T,C]", k::BinaryOp::add, data({16, 128, 128}, 4),
               data({128, 128}, 5)),
        binary("mul a column [R,1]", k::BinaryOp::mul, big, data({1024, 1}, 6)),
        reduce("sum over the last axis", false, big, 1),
        reduce("sum over the first axis (bias gradient)", false, big, 0),
        reduce("max over the last axis", true, big, 1),
        softmax_rows(data({16 * 4 * 128, 128}, 7)),  // attention weights [B·H·T, T]
    };
}

}  // namespace

int main() {
    fmt::print(
        "| family | kernel | shape | hand ns/elem | xtensor ns/elem | xtensor vs hand | "
        "max abs diff | kept |\n");
    fmt::print("|---|---|---|---|---|---|---|---|\n");
    for (const Row& r : rows()) {
        const float diff = xt::amax(xt::abs(view(r.hand()) - view(r.xtensor())))();
        const double per = 1e6 / static_cast<double>(r.shape.numel());
        const double hand = bench::median_ms(r.hand) * per;
        const double xtensor = bench::median_ms(r.xtensor) * per;
        const double change = (xtensor / hand - 1.0) * 100.0;
        fmt::print("| {} | {} | {} | {:.3f} | {:.3f} | {:+.0f}% | {:.1e} | {} |\n", r.family,
                   r.kernel, r.shape, hand, xtensor, change, diff,
                   change > 5.0 ? "hand" : "xtensor");
    }
}
