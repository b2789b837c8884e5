// Forward and backward of matmul, linear, layer norm and attention against float64 references
// computed with xtensor and xtensor-blas (xt::linalg), never with tapegrad's kernels: a mistake
// that forward and backward share, which gradcheck cannot see, shows here. Last, a Dense layer
// trained with fit() must reach xt::linalg::lstsq's least-squares solution.
#include <doctest/doctest.h>

#include <cmath>
#include <numeric>
#include <tuple>
#include <vector>
#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xbroadcast.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

#include "autograd/ops.hpp"
#include "core/xtensor.hpp"
#include "layers/dense.hpp"
#include "optim/sgd.hpp"
#include "support.hpp"
#include "train/fit.hpp"

using namespace tapegrad;
using Array = xt::xarray<double>;
using Dims = std::vector<std::size_t>;

namespace {

Array values(const Tensor& t) { return as_xtensor<const double>(t); }

void check_close(const Tensor& actual, const Array& expected, double tol = 1e-10) {
    const Dims dims(expected.shape().begin(), expected.shape().end());
    test::check_close(actual, std::vector<double>(expected.begin(), expected.end()),
                      Shape(std::vector<std::int64_t>(dims.begin(), dims.end())), tol, tol);
}

Tensor input(const Shape& shape, std::uint64_t seed) {
    return uniform(shape, -1, 1, {.dtype = f64, .seed = seed, .requires_grad = true});
}

// x with its last two axes swapped.
Array swap_last(const Array& x) {
    Dims axes(x.dimension());
    std::iota(axes.begin(), axes.end(), std::size_t{0});
    std::swap(axes[axes.size() - 1], axes[axes.size() - 2]);
    return xt::transpose(x, axes);
}

// a [..., m, k] @ b [..., k, n] with the batch axes broadcast, one xt::linalg::dot per matrix;
// ta / tb read a or b with its last two axes swapped.
Array ref_matmul(const Array& a_in, const Array& b_in, bool ta, bool tb) {
    const Array a = ta ? swap_last(a_in) : a_in;
    const Array b = tb ? swap_last(b_in) : b_in;
    const std::size_t m = a.shape()[a.dimension() - 2], k = a.shape().back(), n = b.shape().back();
    Dims batch;
    const std::size_t rank = std::max(a.dimension(), b.dimension()) - 2;
    for (std::size_t i = 0; i < rank; ++i) {
        const auto dim = [&](const Array& x) {
            const std::size_t lead = x.dimension() - 2, skip = rank - lead;
            return i < skip ? std::size_t{1} : x.shape()[i - skip];
        };
        batch.push_back(std::max(dim(a), dim(b)));
    }
    const auto stack = [&](const Array& x, std::size_t r, std::size_t c) {
        Dims full = batch;
        full.insert(full.end(), {r, c});
        Array s = xt::broadcast(x, full);
        s.reshape({s.size() / (r * c), r, c});
        return s;
    };
    const Array as = stack(a, m, k), bs = stack(b, k, n);
    Array out = xt::zeros<double>({as.shape()[0], m, n});
    for (std::size_t i = 0; i < as.shape()[0]; ++i)
        xt::view(out, i) = xt::linalg::dot(xt::view(as, i), xt::view(bs, i));
    batch.insert(batch.end(), {m, n});
    out.reshape(batch);
    return out;
}

// g summed over the axes a broadcast input of `dims` was repeated along.
Array sum_to(Array g, const Shape& dims) {
    while (g.dimension() > dims.rank()) g = xt::sum(g, {0});
    for (std::size_t axis = 0; axis < dims.rank(); ++axis)
        if (dims[axis] == 1 && g.shape()[axis] != 1) g = xt::sum(g, {axis}, xt::keep_dims);
    return g;
}

// Means, sums and maxima over the last axis, kept as size 1, evaluated into a container: xtensor
// 0.24 broadcasts a lazy keep_dims reducer wrongly inside a larger expression (STYLE.md §12).
Array last_mean(const Array& x) { return xt::mean(x, {x.dimension() - 1}, xt::keep_dims); }
Array last_sum(const Array& x) { return xt::sum(x, {x.dimension() - 1}, xt::keep_dims); }
Array last_max(const Array& x) { return xt::amax(x, {x.dimension() - 1}, xt::keep_dims); }

// Softmax over the last axis, and the gradient of its input given the gradient of its output.
Array ref_softmax(const Array& z) {
    const Array e = xt::exp(z - last_max(z));
    return e / last_sum(e);
}

Array ref_softmax_backward(const Array& w, const Array& dw) { return w * (dw - last_sum(dw * w)); }

}  // namespace

TEST_CASE("xtensor-blas reference: matmul in every transpose and batch case, with gradients") {
    struct Case {
        Shape a, b;  // logical [..., m, k] and [..., k, n]
    };
    const Case cases[] = {
        {{3, 4}, {4, 5}},    {{2, 3, 4}, {2, 4, 5}}, {{2, 1, 3, 4}, {3, 4, 5}},
        {{3, 4}, {2, 4, 5}}, {{1, 4}, {4, 1}},
    };
    const auto stored = [](Shape s, bool t) {
        if (t) std::swap(s[s.rank() - 1], s[s.rank() - 2]);
        return s;
    };
    std::uint64_t seed = 10;
    for (const Case& c : cases) {
        for (const bool ta : {false, true}) {
            for (const bool tb : {false, true}) {
                INFO("a ", fmt::format("{}", c.a), " b ", fmt::format("{}", c.b), " ta ", ta,
                     " tb ", tb);
                const Tensor a = input(stored(c.a, ta), ++seed), b = input(stored(c.b, tb), ++seed);
                const Tensor y = matmul(a, b, ta, tb);
                const Array ya = values(a), yb = values(b);
                check_close(y, ref_matmul(ya, yb, ta, tb));
                const Tensor g = uniform(y.shape(), -1, 1, {.dtype = f64, .seed = ++seed});
                y.backward(g);
                const Array yg = values(g);
                // dA = G·op(B)ᵀ (transposed back when ta), dB = op(A)ᵀ·G (likewise when tb)
                const Array da = ta ? ref_matmul(yb, yg, tb, true) : ref_matmul(yg, yb, false, !tb);
                const Array db = tb ? ref_matmul(yg, ya, true, ta) : ref_matmul(ya, yg, !ta, false);
                check_close(a.grad(), sum_to(da, a.shape()));
                check_close(b.grad(), sum_to(db, b.shape()));
            }
        }
    }
}

TEST_CASE("xtensor-blas reference: linear over leading axes, with gradients") {
    const Tensor x = input({2, 3, 4}, 1), w = input({4, 5}, 2), b = input({5}, 3);
    const Tensor y = linear(x, w, b);
    Array x2 = values(x);
    x2.reshape({6, 4});
    const Array wa = values(w);
    Array expected = xt::linalg::dot(x2, wa) + values(b);
    expected.reshape({2, 3, 5});
    check_close(y, expected);
    const Tensor g = uniform({2, 3, 5}, -1, 1, {.dtype = f64, .seed = 4});
    y.backward(g);
    Array g2 = values(g);
    g2.reshape({6, 5});
    Array dx = xt::linalg::dot(g2, xt::transpose(wa));
    dx.reshape({2, 3, 4});
    check_close(x.grad(), dx);
    check_close(w.grad(), xt::linalg::dot(xt::transpose(x2), g2));
    check_close(b.grad(), xt::sum(g2, {0}));
}

TEST_CASE("xtensor reference: layer norm forward and backward") {
    constexpr double eps = 1e-5;
    const Tensor x = input({2, 3, 8}, 5), w = input({8}, 6), b = input({8}, 7);
    const Tensor y = layer_norm(x, w, b, eps);
    const Array xa = values(x), wa = values(w);
    const Array centred = xa - last_mean(xa);
    const Array rstd = 1.0 / xt::sqrt(last_mean(centred * centred) + eps);
    const Array xhat = centred * rstd;
    check_close(y, xhat * wa + values(b));
    const Tensor g = uniform(y.shape(), -1, 1, {.dtype = f64, .seed = 8});
    y.backward(g);
    // dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂ ⊙ x̂)), dx̂ = g ⊙ w, means over the last axis
    const Array ga = values(g), dxhat = ga * wa;
    const Array dx = rstd * (dxhat - last_mean(dxhat) - xhat * last_mean(dxhat * xhat));
    check_close(x.grad(), dx);
    check_close(w.grad(), xt::sum(ga * xhat, {0, 1}));
    check_close(b.grad(), xt::sum(ga, {0, 1}));
}

TEST_CASE("xtensor-blas reference: scaled dot-product attention with a padding mask") {
    constexpr std::size_t B = 2, H = 2, T = 4, D = 3;
    const double scale = 1.0 / std::sqrt(double(D));
    const std::uint8_t keep[] = {1, 1, 1, 0, 1, 1, 0, 0};  // [B,1,1,T]: the last keys are padding
    const Tensor padding = mask(keep, {B, 1, 1, T});
    for (const bool causal : {false, true}) {
        INFO("causal ", causal);
        const Tensor q = input({B, H, T, D}, 11), k = input({B, H, T, D}, 12),
                     v = input({B, H, T, D}, 13);
        const Tensor y =
            matmul(masked_softmax(matmul(q, k, false, true), padding, scale, causal), v);
        const Tensor g = uniform(y.shape(), -1, 1, {.dtype = f64, .seed = 14});
        y.backward(g);
        const Array qa = values(q), ka = values(k), va = values(v), ga = values(g);
        Array dq = xt::zeros<double>({B, H, T, D}), dk = dq, dv = dq, expected = dq;
        for (std::size_t bi = 0; bi < B; ++bi) {
            for (std::size_t h = 0; h < H; ++h) {
                const Array qi = xt::view(qa, bi, h), ki = xt::view(ka, bi, h),
                            vi = xt::view(va, bi, h), gi = xt::view(ga, bi, h);
                Array z = xt::linalg::dot(qi, xt::transpose(ki)) * scale;
                for (std::size_t i = 0; i < T; ++i)
                    for (std::size_t j = 0; j < T; ++j)
                        if (!keep[bi * T + j] || (causal && j > i)) z(i, j) = -1e9;
                const Array w = ref_softmax(z);
                xt::view(expected, bi, h) = xt::linalg::dot(w, vi);
                xt::view(dv, bi, h) = xt::linalg::dot(xt::transpose(w), gi);
                const Array dz =
                    ref_softmax_backward(w, xt::linalg::dot(gi, xt::transpose(vi))) * scale;
                xt::view(dq, bi, h) = xt::linalg::dot(dz, ki);
                xt::view(dk, bi, h) = xt::linalg::dot(xt::transpose(dz), qi);
            }
        }
        check_close(y, expected);
        check_close(q.grad(), dq);
        check_close(k.grad(), dk);
        check_close(v.grad(), dv);
    }
}

TEST_CASE("xtensor-blas reference: a Dense layer trained with fit() reaches lstsq's solution") {
    constexpr std::size_t n = 256;
    const Tensor x = uniform({n, 3}, -1, 1, {.dtype = f64, .seed = 21});
    const Tensor noise = randn({n, 1}, {.dtype = f64, .seed = 22});
    const xt::xtensor<double, 2> beta = {{1.5}, {-2.0}, {0.5}};
    const Tensor y = from_xtensor(xt::linalg::dot(values(x), beta) + 0.3 + 0.1 * values(noise));
    Array design = xt::ones<double>({n, std::size_t{4}});  // [x, 1]: the bias is the 4th weight
    xt::view(design, xt::all(), xt::range(0, 3)) = values(x);
    const Array solution = std::get<0>(xt::linalg::lstsq(design, values(y)));  // [4, 1]

    Dense dense(3, {.units = 1, .seed = 23, .dtype = f64});
    SGD optimizer(dense.parameters(), {.lr = 0.5});  // the loss's curvature is about 2/3 to 2
    const TensorDataset data(x, y);
    const FitResult r = fit(dense, mse_loss, optimizer, data, {.batch_size = n, .steps = 300});
    check_close(dense.kernel(), xt::view(solution, xt::range(0, 3)), 1e-9);
    check_close(dense.bias(), xt::view(solution, 3), 1e-9);
    const Array residual = xt::linalg::dot(design, solution) - values(y);
    CHECK(r.last_loss == doctest::Approx(xt::mean(residual * residual)()).epsilon(1e-6));
}
