// The gemm call site (core/kernels/gemm.hpp) against a plain triple loop, with the one-row and
// one-column shapes it hands to gemv, every transpose, padded leading dimensions and both betas.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/kernels/gemm.hpp"
#include "core/random.hpp"

using namespace tapegrad;

TEST_CASE(
    "Gemm: one-row and one-column products (gemv) equal the loop, for every transpose and beta") {
    Generator gen(9);
    const auto fill = [&](std::size_t n) {
        std::vector<double> v(n);
        for (double& x : v) x = gen.uniform(-1, 1);
        return v;
    };
    for (auto [m, n, k] :
         {std::array<std::int64_t, 3>{1, 5, 3}, {4, 1, 3}, {1, 1, 6}, {1, 7, 1}, {3, 4, 2}})
        for (bool ta : {false, true})
            for (bool tb : {false, true})
                for (double beta : {0.0, 1.0}) {
                    // Stored shapes [m,k] or [k,m], [k,n] or [n,k], C [m,n], each row padded by 2.
                    const std::int64_t lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 2, ldc = n + 2;
                    const std::vector<double> a = fill((ta ? k : m) * lda),
                                              b = fill((tb ? n : k) * ldb);
                    std::vector<double> c = fill(m * ldc);
                    if (beta == 0.0)  // uninitialised memory must not reach the result
                        for (double& x : c) x = std::numeric_limits<double>::quiet_NaN();
                    std::vector<double> expected = c;
                    for (std::int64_t i = 0; i < m; ++i)
                        for (std::int64_t j = 0; j < n; ++j) {
                            double s = 0;
                            for (std::int64_t p = 0; p < k; ++p)
                                s += (ta ? a[p * lda + i] : a[i * lda + p]) *
                                     (tb ? b[j * ldb + p] : b[p * ldb + j]);
                            expected[i * ldc + j] =
                                0.5 * s + (beta == 0.0 ? 0.0 : beta * c[i * ldc + j]);
                        }
                    kernels::Gemm<double>::run(ta, tb, m, n, k, 0.5, a.data(), lda, b.data(), ldb,
                                               beta, c.data(), ldc);
                    INFO("m ", m, " n ", n, " k ", k, " ta ", ta, " tb ", tb, " beta ", beta);
                    for (std::int64_t i = 0; i < m; ++i)
                        for (std::int64_t j = 0; j < n; ++j)
                            CHECK(c[i * ldc + j] ==
                                  doctest::Approx(expected[i * ldc + j]).epsilon(1e-12));
                }
}
