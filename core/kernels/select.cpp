#include "core/kernels/select.hpp"

#include "core/kernels/walk.hpp"

namespace tapegrad::kernels {

namespace {

// One row of out = c ? a : b with each operand moving by its step (0 = repeated). The patterns of
// where, masked_fill and their gradients (every operand contiguous, or one a repeated scalar) get
// their own loops so the compiler vectorises them.
template <class T>
void select_row(const std::uint8_t* c, const T* a, const T* b, T* out, std::int64_t n,
                std::array<std::int64_t, 4> step) {
    if (step[0] == 1 && step[1] == 0 && step[2] == 1) {
        const T value = *a;
        for (std::int64_t k = 0; k < n; ++k) out[k] = c[k] ? value : b[k];
    } else if (step[0] == 1 && step[1] == 1 && step[2] == 0) {
        const T value = *b;
        for (std::int64_t k = 0; k < n; ++k) out[k] = c[k] ? a[k] : value;
    } else {
        for (std::int64_t k = 0; k < n; ++k)
            out[k] = c[k * step[0]] ? a[k * step[1]] : b[k * step[2]];
    }
}

}  // namespace

template <class T>
struct Select {
    static void run(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);
};

template <class T>
void Select<T>::run(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
    const std::uint8_t* pc = cond.data<std::uint8_t>();
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    const Shape& shape = out.shape();
    if (cond.shape() == shape && a.shape() == shape && b.shape() == shape) {  // one flat loop
        const std::int64_t n = out.numel();
        parallel_for_simd(n, [&](std::int64_t i) { po[i] = pc[i] ? pa[i] : pb[i]; });
        return;
    }
    const std::array<Strides, 4> strides{broadcast_strides(cond.shape(), shape),
                                         broadcast_strides(a.shape(), shape),
                                         broadcast_strides(b.shape(), shape), shape.strides()};
    for_each_row<4>(
        shape, strides,
        [&](std::array<std::int64_t, 4> at, std::int64_t n, std::array<std::int64_t, 4> step) {
            select_row<T>(pc + at[0], pa + at[1], pb + at[2], po + at[3], n, step);
        });
}

template struct Select<float>;
template struct Select<double>;

Tensor select(const Tensor& cond, const Tensor& a, const Tensor& b, const Shape& out_shape) {
    Tensor out = Tensor::empty(out_shape, a.dtype());
    dispatch("select", a.dtype(), [&]<class T>() { Select<T>::run(cond, a, b, out); });
    return out;
}

}  // namespace tapegrad::kernels
