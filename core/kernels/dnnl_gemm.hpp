// Matrix products through oneDNN's matmul, row-major like Gemm: C = alpha·op(A)·op(B) + beta·C.
// Bf16 rounds A and B to bfloat16 (core/half.hpp) and accumulates and writes float32: the
// products of bf16 mixed precision (core/precision.hpp). F32 is oneDNN's float32 matmul, kept for
// comparison with OpenBLAS (bench/gemm_compare). One primitive per shape, created on first use and
// cached, so a training step creates none after its first.
#pragma once

#include <cstdint>
#include <string>

namespace tapegrad::kernels {

enum class DnnlType { bf16, f32 };

// An operand of a bf16 product: float32 values that the product rounds, or a bf16 copy made
// earlier (linear keeps the copies it made in forward for its backward: each operand is rounded
// once a step, not at every use).
struct Bf16Operand {
    const float* f32 = nullptr;
    const std::uint16_t* bf16 = nullptr;
};

struct DnnlGemm {
    static void run(DnnlType type, bool transpose_a, bool transpose_b, std::int64_t m,
                    std::int64_t n, std::int64_t k, float alpha, const float* a, std::int64_t lda,
                    const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc);
    // The bf16 product, each operand as float32 or as a bf16 copy (its ld counts bf16 elements).
    static void run_bf16(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n,
                         std::int64_t k, float alpha, Bf16Operand a, std::int64_t lda,
                         Bf16Operand b, std::int64_t ldb, float beta, float* c, std::int64_t ldc);
};

// The CPU's matrix instructions as oneDNN sees them: "AMX", "AVX512-BF16" or "none" (no bf16).
const char* dnnl_bf16_isa();
std::string dnnl_version();              // "2.6.3"
std::int64_t dnnl_primitives_created();  // since the start: stays put once a run is warm

}  // namespace tapegrad::kernels
