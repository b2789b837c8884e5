// The GPT benchmark's matrix products (bench/gpt_bench's toy, tiny, small and medium configs:
// forward, the input gradient and the weight gradient of each linear, and one attention head's
// products) in GFLOP/s through OpenBLAS float32, oneDNN float32 and oneDNN bf16 (rounding of A and
// B included), median of 7 after one warm-up; and how much of the bf16 product's time the rounding
// of the weight operand B and of A take (the rounding runs at every use; docs/design.md). Decides
// which library runs float32 products (docs/benchmarks.md).
//   build/gemm_compare
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "core/half.hpp"
#include "core/kernels/dnnl_gemm.hpp"
#include "core/kernels/gemm.hpp"

using namespace tapegrad::kernels;

namespace {

struct Product {
    const char* what;
    bool ta, tb;
    std::int64_t m, n, k;
};

// Median seconds of 7 calls of f() after one warm-up.
template <class F>
double median_seconds(F&& f) {
    std::vector<double> seconds;
    for (int i = 0; i < 8; ++i) {
        const auto start = std::chrono::steady_clock::now();
        f();
        if (i > 0)
            seconds.push_back(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(seconds.begin(), seconds.end());
    return seconds[seconds.size() / 2];
}

// C [m,n] = op(A)·op(B) with A stored [m,k] or [k,m], B [k,n] or [n,k].
template <class Run>
double gflops(const Product& p, Run&& run) {
    std::vector<float> a(p.m * p.k, 0.5f), b(p.k * p.n, 0.25f), c(p.m * p.n);
    const std::int64_t lda = p.ta ? p.m : p.k, ldb = p.tb ? p.k : p.n;
    const double s = median_seconds([&] { run(p, a.data(), lda, b.data(), ldb, c.data()); });
    return 2.0 * p.m * p.n * p.k / s * 1e-9;
}

// Seconds to round n floats to bf16.
double rounding_seconds(std::int64_t n) {
    std::vector<float> x(n, 0.5f);
    std::vector<std::uint16_t> y(n);
    return median_seconds([&] { tapegrad::floats_to_bf16(x.data(), x.size(), y.data()); });
}

void dnnl(DnnlType type, const Product& p, const float* a, std::int64_t lda, const float* b,
          std::int64_t ldb, float* c) {
    DnnlGemm::run(type, p.ta, p.tb, p.m, p.n, p.k, 1, a, lda, b, ldb, 0, c, p.n);
}

}  // namespace

int main() {
    constexpr Product products[] = {
        {"medium qkv forward", false, false, 2048, 1152, 384},
        {"medium qkv dx", false, true, 2048, 384, 1152},
        {"medium qkv dW", true, false, 384, 1152, 2048},
        {"medium mlp up forward", false, false, 2048, 1536, 384},
        {"medium mlp down forward", false, false, 2048, 384, 1536},
        {"medium mlp down dW", true, false, 1536, 384, 2048},
        {"medium tied head", false, true, 2048, 65, 384},
        {"medium head q·kᵀ", false, true, 256, 256, 64},
        {"medium head w·v", false, false, 256, 64, 256},
        {"small qkv forward", false, false, 2048, 384, 128},
        {"small mlp up forward", false, false, 2048, 512, 128},
        {"small qkv dW", true, false, 128, 384, 2048},
        {"small head q·kᵀ", false, true, 128, 128, 32},
        {"tiny qkv forward", false, false, 1024, 192, 64},
        {"tiny qkv dW", true, false, 64, 192, 1024},
        {"tiny head q·kᵀ", false, true, 64, 64, 16},
        {"toy qkv forward", false, false, 512, 192, 64},
        {"toy qkv dx", false, true, 512, 64, 192},
        {"toy mlp down dW", true, false, 256, 64, 512},
        {"toy head q·kᵀ", false, true, 8, 8, 16},
        {"square n=2048", false, false, 2048, 2048, 2048},
    };
    fmt::print("{:<26} {:>16} {:>12} {:>12} {:>12} {:>10} {:>10}\n", "product", "m×n×k",
               "OpenBLAS f32", "oneDNN f32", "oneDNN bf16", "round B %", "round A %");
    for (const Product& p : products) {
        const double blas = gflops(p, [](const Product& q, const float* a, std::int64_t lda,
                                         const float* b, std::int64_t ldb, float* c) {
            Gemm<float>::run(q.ta, q.tb, q.m, q.n, q.k, 1, a, lda, b, ldb, 0, c, q.n);
        });
        const double f32 = gflops(p, [](auto&&... args) { dnnl(DnnlType::f32, args...); });
        const double bf16 = gflops(p, [](auto&&... args) { dnnl(DnnlType::bf16, args...); });
        const double bf16_seconds = 2.0 * p.m * p.n * p.k / bf16 * 1e-9;
        fmt::print("{:<26} {:>16} {:>12.1f} {:>12.1f} {:>12.1f} {:>10.1f} {:>10.1f}\n", p.what,
                   fmt::format("{}×{}×{}", p.m, p.n, p.k), blas, f32, bf16,
                   100 * rounding_seconds(p.k * p.n) / bf16_seconds,
                   100 * rounding_seconds(p.m * p.k) / bf16_seconds);
    }
    fmt::print("GFLOP/s; round: rounding the operand to bf16, % of the bf16 product's time\n");
    fmt::print("ISA {}, oneDNN {}, BLAS {} ({} threads)\n", dnnl_bf16_isa(), dnnl_version(),
               blas_config(), blas_threads());
}
