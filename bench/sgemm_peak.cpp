// This machine's sgemm peak through the same gemm wrapper the library uses: n = 2048, median of 11.
#include <algorithm>
#include <chrono>
#include <vector>

#include <fmt/format.h>

#include "core/kernels/gemm.hpp"

int main() {
    constexpr std::int64_t n = 2048;
    std::vector<float> a(n * n, 1.0f), b(n * n, 0.5f), c(n * n);
    std::vector<double> seconds;
    for (int i = 0; i < 12; ++i) {
        const auto start = std::chrono::steady_clock::now();
        tapegrad::kernels::Gemm<float>::run(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
        if (i > 0) seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(seconds.begin(), seconds.end());
    const double gflops = 2.0 * n * n * n / seconds[seconds.size() / 2] * 1e-9;
    fmt::print(R"({{"sgemm_n":{},"gflops":{:.1f},"blas":"{}","blas_threads":{}}})" "\n", n, gflops,
               tapegrad::kernels::blas_config(), tapegrad::kernels::blas_threads());
}
