// The one call site of BLAS gemm: C = alpha·op(A)·op(B) + beta·C, row-major, op = transpose or not.
#pragma once

#include <cstdint>

namespace tapegrad::kernels {

template <class T>
struct Gemm {
    static void run(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k,
                    T alpha, const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c,
                    std::int64_t ldc);
};

// Which OpenBLAS core and thread count are in use, for benchmark reports.
const char* blas_config();
int blas_threads();

}  // namespace tapegrad::kernels
