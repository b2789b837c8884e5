// The one call site of BLAS gemm: C = alpha·op(A)·op(B) + beta·C, row-major, op = transpose or not.
#pragma once

#include <cstdint>
#include <type_traits>

#include "core/kernels/dnnl_gemm.hpp"

namespace tapegrad::kernels {

template <class T>
struct Gemm {
    static void run(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k,
                    T alpha, const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c,
                    std::int64_t ldc);
};

// Gemm<float>'s product in bf16 mixed precision (oneDNN), where an operand may come as the bf16
// copy a layer kept (Bf16Operand): linear's products in forward and backward.
void gemm_bf16(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k,
               float alpha, Bf16Operand a, std::int64_t lda, Bf16Operand b, std::int64_t ldb,
               float beta, float* c, std::int64_t ldc);

// Runs product(i) for i in [0, count), each one Gemm call of about `work_each` multiply-adds:
// side by side, one per OpenMP thread with single-threaded BLAS, when BLAS shares our OpenMP pool
// and each product is too small to split well across threads (attention's per-head products);
// otherwise one after another, each using BLAS's threads.
void run_products(std::int64_t count, std::int64_t work_each, void (*product)(void*, std::int64_t),
                  void* context);

template <class Product>
void for_each_product(std::int64_t count, std::int64_t work_each, Product&& product) {
    using P = std::remove_reference_t<Product>;
    run_products(count, work_each, [](void* p, std::int64_t i) { (*static_cast<P*>(p))(i); },
                 static_cast<void*>(&product));
}

// Which OpenBLAS core and thread count are in use, for benchmark reports.
const char* blas_config();
int blas_threads();

}  // namespace tapegrad::kernels
