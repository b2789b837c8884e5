// The two products of causal attention, computing only what the causal mask keeps (key j of query
// i kept when j <= i, top-left aligned when Tq ≠ Tk): about half the work of matmul on long
// sequences. Leading axes must match (no broadcasting).
#pragma once

#include "core/tensor.hpp"

namespace tapegrad {

// q [..., Tq, d], k [..., Tk, d] -> scores [..., Tq, Tk]: q·kᵀ where j <= i, 0 above the diagonal.
// Feed it to masked_softmax(..., causal = true), which never reads the entries above.
Tensor causal_scores(const Tensor& q, const Tensor& k);
// weights [..., Tq, Tk], v [..., Tk, d] -> [..., Tq, d] = tril(weights)·v: entries of weights
// above the diagonal are read as 0 (causal masked_softmax makes them exactly 0).
Tensor causal_mix(const Tensor& weights, const Tensor& v);

// Whether causal_scores and causal_mix beat matmul for t queries: from 128 on. Below, the masked
// copies of the diagonal blocks cost more than the skipped products save (fwd + bwd of one layer's
// attention, bench-style shapes: T 64 1.29 -> 1.44 ms, T 128 5.4 -> 5.0 ms, T 256 22 -> 18 ms).
bool causal_products_pay_off(std::int64_t t);

}  // namespace tapegrad
