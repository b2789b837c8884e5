// This machine's sgemm peak through the same gemm wrapper the library uses: n = 2048, median of 11.
//   build/sgemm_peak        float32 (OpenBLAS)
//   build/sgemm_peak bf16   bf16 mixed precision (oneDNN; the rounding of A and B included)
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "core/kernels/gemm.hpp"
#include "core/precision.hpp"

int main(int argc, char** argv) {
    using namespace tapegrad;
    const PrecisionScope precision(argc > 1 && std::string(argv[1]) == "bf16" ? Precision::bf16
                                                                              : Precision::fp32);
    constexpr std::int64_t n = 2048;
    std::vector<float> a(n * n, 1.0f), b(n * n, 0.5f), c(n * n);
    std::vector<double> seconds;
    for (int i = 0; i < 12; ++i) {
        const auto start = std::chrono::steady_clock::now();
        kernels::Gemm<float>::run(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f,
                                  c.data(), n);
        if (i > 0) seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(seconds.begin(), seconds.end());
    const double gflops = 2.0 * n * n * n / seconds[seconds.size() / 2] * 1e-9;
    fmt::print(R"({{"sgemm_n":{},"precision":"{}","gflops":{:.1f},"blas":"{}","blas_threads":{}}})"
               "\n",
               n, precision_name(precision.active()), gflops, kernels::blas_config(),
               kernels::blas_threads());
}
