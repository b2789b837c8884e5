// bf16 mixed precision (core/precision.hpp): the oneDNN products against a float64 reference within
// bf16's error bound, the precision guard, the fp32 fallback, and float64 left alone.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "autograd/ops.hpp"
#include "core/error.hpp"
#include "core/kernels/dnnl_gemm.hpp"
#include "core/kernels/gemm.hpp"
#include "core/precision.hpp"
#include "core/random.hpp"
#include "support.hpp"

using namespace tapegrad;

namespace {

// bf16 keeps 8 significant bits: rounding moves an operand by at most 2^-8 relatively, a product
// of two by 2^-7 + 2^-16, and fp32 accumulation of k of them adds at most k·2^-24 each. Tighter
// than k·2^-8 relative to Σ|a||b| from k = 2 on, so products accumulated in bf16 would fail it.
double bf16_bound(std::int64_t k, double sum_abs) {
    return (0x1p-7 + 0x1p-16 + static_cast<double>(k) * 0x1p-23) * sum_abs;
}

bool bf16_here() {
    if (bf16_available()) return true;
    MESSAGE("this CPU has no AVX512-BF16 or AMX: bf16 products not checked here");
    return false;
}

bool same_bits(const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() &&
           std::memcmp(a.raw_data(), b.raw_data(), static_cast<std::size_t>(a.numel()) * 4) == 0;
}

Tensor magnitude(const Tensor& x) { return relu(x) + relu(-x); }

}  // namespace

TEST_CASE("bf16 gemm: every transpose, odd sizes, padded rows, alpha and beta within the bound") {
    if (!bf16_here()) return;
    Generator gen(21);
    for (auto [m, n, k] : {std::array<std::int64_t, 3>{1, 1, 1},
                           {3, 5, 7},
                           {17, 9, 33},
                           {1, 13, 5},
                           {6, 1, 11},
                           {65, 31, 129}})
        for (bool ta : {false, true})
            for (bool tb : {false, true})
                for (auto [alpha, beta] : {std::array<float, 2>{1, 0}, {0.5f, 1}, {2, -0.5f}}) {
                    const std::int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
                    std::vector<float> a(static_cast<std::size_t>((ta ? k : m) * lda)),
                        b(static_cast<std::size_t>((tb ? n : k) * ldb)),
                        c(static_cast<std::size_t>(m * ldc));
                    for (float& x : a) x = static_cast<float>(gen.uniform(-1, 1));
                    for (float& x : b) x = static_cast<float>(gen.uniform(-1, 1));
                    for (float& x : c)  // beta = 0 must not read C: NaN there would show
                        x = beta == 0 ? std::numeric_limits<float>::quiet_NaN()
                                      : static_cast<float>(gen.uniform(-1, 1));
                    const std::vector<float> c0 = c;
                    kernels::DnnlGemm::run(kernels::DnnlType::bf16, ta, tb, m, n, k, alpha,
                                           a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
                    INFO("m ", m, " n ", n, " k ", k, " ta ", ta, " tb ", tb, " alpha ", alpha,
                         " beta ", beta);
                    for (std::int64_t i = 0; i < m; ++i)
                        for (std::int64_t j = 0; j < n; ++j) {
                            double s = 0, s_abs = 0;
                            for (std::int64_t p = 0; p < k; ++p) {
                                const double x = ta ? a[p * lda + i] : a[i * lda + p];
                                const double y = tb ? b[j * ldb + p] : b[p * ldb + j];
                                s += x * y;
                                s_abs += std::abs(x * y);
                            }
                            const double c_old = beta == 0 ? 0.0 : c0[i * ldc + j];
                            const double expected = alpha * s + beta * c_old;
                            const double bound = std::abs(alpha) * bf16_bound(k, s_abs) +
                                                 1e-6 * (std::abs(beta * c_old) + 1);
                            CHECK(std::abs(c[i * ldc + j] - expected) <= bound);
                        }
                }
}

TEST_CASE("bf16 gemm: operands are rounded to bf16 and the sum is kept in fp32") {
    if (!bf16_here()) return;
    // 1 + 2^-10 rounds to 1 in bf16, so the product is exactly 4; fp32 would give 4 + 2^-8.
    const std::vector<float> a(4, 1.0f + 0x1p-10f), b(4, 1.0f);
    float c = 0;
    kernels::DnnlGemm::run(kernels::DnnlType::bf16, false, false, 1, 1, 4, 1, a.data(), 4, b.data(),
                           1, 0, &c, 1);
    CHECK(c == 4.0f);
    // 256 products of 1: a bf16 accumulator would stall at 256 + 1 = 256; fp32 reaches 300.
    const std::vector<float> ones(300, 1.0f);
    kernels::DnnlGemm::run(kernels::DnnlType::bf16, false, false, 1, 1, 300, 1, ones.data(), 300,
                           ones.data(), 1, 0, &c, 1);
    CHECK(c == 300.0f);
}

TEST_CASE("bf16 matmul: batched, broadcast and transposed products within the bound") {
    if (!bf16_here()) return;
    struct Case {
        Shape a, b;
        bool ta, tb;
    };
    const Case cases[] = {
        {{2, 3, 5, 7}, {3, 7, 4}, false, false}, {{2, 3, 7, 5}, {3, 7, 4}, true, false},
        {{3, 5, 7}, {3, 4, 7}, false, true},     {{3, 7, 5}, {1, 4, 7}, true, true},
        {{9, 13}, {13, 11}, false, false},       {{4, 9, 13}, {13, 11}, false, false},
        {{4, 9, 13}, {11, 13}, false, true},
    };
    const PrecisionScope bf16(Precision::bf16);
    for (const Case& c : cases) {
        INFO(fmt::format("{}{} @ {}{}", c.a, c.ta ? "ᵀ" : "", c.b, c.tb ? "ᵀ" : ""));
        const Tensor a = uniform(c.a, -1, 1, {.seed = 5}), b = uniform(c.b, -1, 1, {.seed = 6});
        const Tensor a64 = a.to(f64), b64 = b.to(f64);
        const std::vector<double> got = matmul(a, b, c.ta, c.tb).to_vector();
        const std::vector<double> want = matmul(a64, b64, c.ta, c.tb).to_vector();
        const std::vector<double> sum_abs =
            matmul(magnitude(a64), magnitude(b64), c.ta, c.tb).to_vector();
        const std::int64_t k = c.ta ? c.a[c.a.rank() - 2] : c.a.back();
        REQUIRE(got.size() == want.size());
        for (std::size_t i = 0; i < got.size(); ++i)
            CHECK(std::abs(got[i] - want[i]) <= bf16_bound(k, sum_abs[i]));
    }
}

TEST_CASE("bf16: float64 products and gradcheck are untouched by the precision") {
    const Tensor a = uniform({4, 6}, -1, 1, {.dtype = f64, .seed = 1, .requires_grad = true});
    const Tensor b = uniform({6, 3}, -1, 1, {.dtype = f64, .seed = 2, .requires_grad = true});
    const std::vector<double> fp32_run = matmul(a, b).to_vector();
    const PrecisionScope bf16(Precision::bf16);
    CHECK(matmul(a, b).to_vector() == fp32_run);
    test::check_gradients([](const Tensor& x, const Tensor& y) { return matmul(x, y); }, {a, b});
}

TEST_CASE(
    "bf16 linear: keeps bf16 copies for backward, with the values of rounding at each product") {
    if (!bf16_here()) return;
    const PrecisionScope bf16(Precision::bf16);
    const Tensor x = uniform({3, 5, 19}, -1, 1, {.seed = 5, .requires_grad = true});
    const Tensor w = uniform({19, 11}, -1, 1, {.seed = 6, .requires_grad = true});
    const Tensor b = uniform({11}, -1, 1, {.seed = 7, .requires_grad = true});
    const Tensor upstream = uniform({3, 5, 11}, -1, 1, {.seed = 8});
    // The reference: matmul rounds both operands at every product, forward and backward (on x
    // as one matrix, so that xᵀ·dy is one product, as in linear).
    const auto grads = [&](const Tensor& y) {
        for (const Tensor& t : {x, w, b}) t.zero_grad();
        y.backward(upstream);
        return std::vector<Tensor>{y.detach(), x.grad(), w.grad(), b.grad()};
    };
    const std::vector<Tensor> reference =
        grads(reshape(matmul(reshape(x, {15, 19}), w) + b, {3, 5, 11}));
    Tensor activation = x * 1.0;  // an input that is not a leaf: its buffer can go
    const std::weak_ptr<Storage> activation_buffer = activation.impl_ptr()->storage;
    const Tensor y = linear(activation, w, b);
    activation = Tensor();
    CHECK(activation_buffer.expired());  // backward holds its bf16 copy instead
    const std::vector<Tensor> got = grads(y);
    for (std::size_t i = 0; i < got.size(); ++i) {
        CAPTURE(i);
        CHECK(same_bits(got[i], reference[i]));
    }
}

TEST_CASE("bf16 tied head: x·Wᵀ keeps bf16 copies too, with the values of rounding at each product") {
    if (!bf16_here()) return;
    const PrecisionScope bf16(Precision::bf16);
    const Tensor x = uniform({2, 7, 12}, -1, 1, {.seed = 9, .requires_grad = true});
    const Tensor wte = uniform({23, 12}, -1, 1, {.seed = 10, .requires_grad = true});
    const Tensor upstream = uniform({2, 7, 23}, -1, 1, {.seed = 11});
    const auto grads = [&](const Tensor& y) {
        for (const Tensor& t : {x, wte}) t.zero_grad();
        y.backward(upstream);
        return std::vector<Tensor>{y.detach(), x.grad(), wte.grad()};
    };
    // The reference rounds at every product: a right operand with a batch axis takes matmul's
    // general path (x as one matrix, so that dyᵀ·x is one product, as in the head).
    const std::vector<Tensor> reference = grads(reshape(
        matmul(reshape(x, {14, 12}), reshape(wte, {1, 23, 12}), false, true), {2, 7, 23}));
    const std::vector<Tensor> got = grads(matmul(x * 1.0, wte, false, true));
    for (std::size_t i = 0; i < got.size(); ++i) {
        CAPTURE(i);
        CHECK(same_bits(got[i], reference[i]));
    }
}

TEST_CASE("bf16: without bf16 instructions a bf16 request runs fp32, bit for bit") {
    const Tensor a = uniform({2, 9, 13}, -1, 1, {.seed = 3}),
                 b = uniform({13, 7}, -1, 1, {.seed = 4});
    const Tensor fp32 = matmul(a, b);
    force_bf16_fallback(true);
    {
        const PrecisionScope bf16(Precision::bf16);
        CHECK(bf16.active() == Precision::fp32);
        CHECK(precision() == Precision::fp32);
        CHECK(same_bits(matmul(a, b), fp32));
    }
    force_bf16_fallback(false);
    CHECK(precision() == Precision::fp32);
}

TEST_CASE("bf16: the guard restores the previous precision, and names parse") {
    CHECK(precision() == Precision::fp32);
    {
        const PrecisionScope outer(Precision::bf16);
        {
            const PrecisionScope inner(Precision::fp32);
            CHECK(precision() == Precision::fp32);
        }
        CHECK(precision() == outer.active());
    }
    CHECK(precision() == Precision::fp32);
    CHECK(parse_precision("bf16") == Precision::bf16);
    CHECK(parse_precision("fp32") == Precision::fp32);
    CHECK_FALSE(parse_precision("fp16").has_value());
    CHECK(precision_name(Precision::bf16) == "bf16");
}

TEST_CASE("bf16: a warm product shape creates no new oneDNN primitive") {
    if (!bf16_here()) return;
    const PrecisionScope bf16(Precision::bf16);
    const Tensor a = uniform({3, 17, 19}, -1, 1, {.seed = 8}),
                 b = uniform({19, 23}, -1, 1, {.seed = 9});
    matmul(a, b);
    const std::int64_t created = kernels::dnnl_primitives_created();
    for (int i = 0; i < 3; ++i) matmul(a, b);
    CHECK(kernels::dnnl_primitives_created() == created);
}

TEST_CASE("oneDNN gemm: a product it cannot make names the op and both operands' shapes") {
    const std::vector<float> a(8), b(12);
    std::vector<float> c(6);
    test::check_throws_with<ValueError>(
        [&] {  // C's rows may not overlap: ldc 1 < n 3
            kernels::DnnlGemm::run(kernels::DnnlType::f32, false, true, 2, 3, 4, 1, a.data(), 4,
                                   b.data(), 4, 0, c.data(), 1);
        },
        {"matmul (oneDNN f32)", "[2,4] @ [3,4]ᵀ", "oneDNN cannot make this product"});
}
