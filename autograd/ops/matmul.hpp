// Matrix products through BLAS.
#pragma once

#include "core/tensor.hpp"

namespace tapegrad {

// a [..., M, K] @ b [..., K, N] -> [..., M, N]; leading axes broadcast. transpose_a/b use the
// last two axes transposed without copying (BLAS transpose flags).
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);
// x [..., in] @ w [in, out] (+ b [out]) -> [..., out] as one gemm over all leading axes.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b = Tensor());

}  // namespace tapegrad
