// causal_scores and causal_mix against matmul with an explicit lower-triangular mask: values and
// gradients in float32 and float64, at sizes that use one block, several, a ragged last block, and
// Tq ≠ Tk. Their float64 gradchecks are check/gradcheck_suite's (test_gradcheck_suite.cpp).
#include <doctest/doctest.h>

#include <cstdint>

#include "autograd/ops.hpp"
#include "autograd/tape.hpp"
#include "layers/masks.hpp"
#include "support.hpp"

using namespace tapegrad;
using test::check_close;

namespace {

const std::int64_t sizes[][2] = {{1, 1},   {5, 5},    {40, 40},  {37, 21},
                                 {21, 37}, {100, 64}, {256, 256}};

Tensor tril_of(const Tensor& x) {
    return x * mask_as(causal_mask(x.dim(-2), x.dim(-1)), x.dtype());
}

Tensor random_input(const Shape& shape, DType dtype, std::uint64_t seed) {
    return uniform(shape, -1, 1, {.dtype = dtype, .seed = seed, .requires_grad = true});
}

// The gradients of Σ dy ⊙ y with respect to a and b.
std::pair<Tensor, Tensor> grads(const Tensor& y, const Tensor& dy, const Tensor& a,
                                const Tensor& b) {
    a.zero_grad();
    b.zero_grad();
    y.backward(dy);
    return {a.grad().detach(), b.grad().detach()};
}

using Op = Tensor (*)(const Tensor&, const Tensor&);
using ShapeOf = Shape (*)(std::int64_t tq, std::int64_t tk);

// op(a, b) against reference(a, b), values and gradients, at every size in both dtypes; a_of and
// b_of give the operands' shapes for (tq, tk).
void check_op(Op op, Op reference, ShapeOf a_of, ShapeOf b_of) {
    for (const DType dtype : {f64, f32}) {
        const double tol = dtype == f64 ? 1e-12 : 1e-4;
        for (const auto& [tq, tk] : sizes) {
            CAPTURE(dtype_name(dtype));
            CAPTURE(tq);
            CAPTURE(tk);
            const Tensor a = random_input(a_of(tq, tk), dtype, 1);
            const Tensor b = random_input(b_of(tq, tk), dtype, 2);
            const Tensor ours = op(a, b), expected = reference(a, b);
            check_close(ours, expected, tol, tol);
            const Tensor dy = uniform(ours.shape(), -1, 1, {.dtype = dtype, .seed = 3});
            const auto [da, db] = grads(ours, dy, a, b);
            const auto [da_ref, db_ref] = grads(expected, dy, a, b);
            check_close(da, da_ref, tol, tol);
            check_close(db, db_ref, tol, tol);
        }
    }
}

}  // namespace

TEST_CASE("causal_scores equals tril(q·kᵀ), and so do its gradients") {
    check_op(
        causal_scores,
        [](const Tensor& q, const Tensor& k) { return tril_of(matmul(q, k, false, true)); },
        [](std::int64_t tq, std::int64_t) {
            return Shape{2, 3, tq, 8};
        },
        [](std::int64_t, std::int64_t tk) {
            return Shape{2, 3, tk, 8};
        });
}

TEST_CASE("causal_mix equals tril(w)·v, ignoring w above the diagonal, and so do its gradients") {
    check_op(  // w is dense: the op itself must mask it
        causal_mix, [](const Tensor& w, const Tensor& v) { return matmul(tril_of(w), v); },
        [](std::int64_t tq, std::int64_t tk) {
            return Shape{2, 3, tq, tk};
        },
        [](std::int64_t, std::int64_t tk) {
            return Shape{2, 3, tk, 8};
        });
}

TEST_CASE("causal_scores and causal_mix: errors name the op and both shapes") {
    using test::check_throws_with;
    check_throws_with<ShapeError>(
        [] {
            causal_scores(zeros({2, 4, 3}), zeros({3, 4, 3}));
        },
        {"causal_scores: [2,4,3], [3,4,3]: leading axes differ"});
    check_throws_with<ShapeError>(
        [] {
            causal_scores(zeros({4, 3}), zeros({4, 2}));
        },
        {"causal_scores: [4,3], [4,2]: feature sizes differ"});
    check_throws_with<ShapeError>(
        [] {
            causal_mix(zeros({4, 5}), zeros({4, 2}));
        },
        {"causal_mix: [4,5], [4,2]: weights' keys differ from the values' length"});
    check_throws_with<ShapeError>(
        [] {
            causal_mix(zeros({4}), zeros({4, 2}));
        },
        {"causal_mix: [4], [4,2]: both operands need the same rank >= 2"});
    check_throws_with<ValueError>(
        [] {
            causal_mix(zeros({4, 4}), zeros({4, 2}, {.dtype = f64}));
        },
        {"causal_mix", "dtypes differ"});
}
