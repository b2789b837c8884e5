// Losses. Loops in core/kernels/loss.cpp; both losses return a scalar (shape []) mean.
#include "autograd/ops/loss.hpp"

#include <fmt/format.h>

#include "autograd/ops/binary.hpp"
#include "autograd/ops/softmax.hpp"
#include "autograd/ops/unary.hpp"
#include "autograd/tape.hpp"
#include "core/kernels/loss.hpp"

namespace tapegrad {
namespace {

// Checks logits [..., C] against targets i32 [...] and counts the targets that are not ignored.
std::int64_t count_targets(const Tensor& logits, const Tensor& targets, std::int32_t ignore) {
    const char* op = "cross_entropy";
    if (targets.dtype() != i32)
        throw ValueError(fmt::format("{}: targets {} {}: expected dtype i32 (class indices)", op,
                                     targets.shape(), dtype_name(targets.dtype())));
    Shape rows_shape;
    for (std::size_t a = 0; a + 1 < logits.rank(); ++a) rows_shape.push_back(logits.shape()[a]);
    if (logits.rank() == 0 || !(targets.shape() == rows_shape))
        throw_shape_error(
            op, fmt::format("logits {}, targets {}", logits.shape(), targets.shape()),
            fmt::format("targets must have the logits' shape without the class axis ({})",
                        rows_shape));
    const std::int64_t classes = logits.shape().back();
    std::int64_t count = 0;
    for (std::int32_t t : targets.span<std::int32_t>()) {
        if (t == ignore) continue;
        if (t < 0 || t >= classes)
            throw ValueError(fmt::format("{}: logits {}: target {} is outside the classes [0, {})",
                                         op, logits.shape(), t, classes));
        ++count;
    }
    return count;
}

template <class T>
Tensor scalar(double value) {
    Tensor out = Tensor::empty(Shape{}, dtype_of<T>());
    out.data<T>()[0] = static_cast<T>(value);
    return out;
}

struct CrossEntropyAttrs {
    std::int32_t ignore_index;
    std::int64_t count;  // targets not ignored: the mean's denominator
};

// dlogits = dy · (softmax(x) − onehot) · w, w = 1/count on kept rows and 0 on ignored ones, as
// recorded ops; onehot and w are constants.
void cross_entropy_backward_recorded(Backward& bw) {
    const Tensor& logits = bw.input(0);
    const CrossEntropyAttrs attrs = bw.attrs<CrossEntropyAttrs>();
    const std::span<const std::int32_t> targets = bw.input(1).span<std::int32_t>();
    const std::int64_t classes = logits.shape().back();
    std::vector<double> onehot(static_cast<std::size_t>(logits.numel())), weight(targets.size());
    for (std::size_t r = 0; r < targets.size(); ++r) {
        if (targets[r] == attrs.ignore_index) continue;
        onehot[r * classes + targets[r]] = 1.0;
        weight[r] = 1.0 / static_cast<double>(attrs.count);
    }
    Shape row_shape = bw.input(1).shape();
    row_shape.push_back(1);
    const TensorOptions like{.dtype = logits.dtype()};
    const Tensor diff = sub(softmax(logits, -1), from(onehot, logits.shape(), like));
    bw.accumulate(0, mul(mul(diff, from(weight, row_shape, like)), bw.grad_out()));
}

}  // namespace

// loss = mean over kept rows of lse(x) − x[target], lse = log Σ exp(x) (saved);
// dlogits = dy/count · (softmax(x) − onehot(target)) on kept rows, 0 on ignored ones.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, std::int32_t ignore_index) {
    const std::int64_t count = count_targets(logits, targets, ignore_index);
    const std::int64_t classes = logits.shape().back(), rows = targets.numel();
    Tensor lse = Tensor::empty(targets.shape(), logits.dtype());
    Tensor loss = dispatch("cross_entropy", logits.dtype(), [&]<class T>() {
        const double total =
            kernels::CrossEntropy<T>::forward(logits.data<T>(), targets.data<std::int32_t>(),
                                              lse.data<T>(), rows, classes, ignore_index);
        return scalar<T>(count == 0 ? 0.0 : total / static_cast<double>(count));
    });
    const CrossEntropyAttrs attrs{ignore_index, count};
    return record(
        "cross_entropy", {logits, targets}, loss, {lse},
        [](Backward& bw) {
            if (bw.create_graph()) return cross_entropy_backward_recorded(bw);
            const Tensor& logits = bw.input(0);
            const Tensor& targets = bw.input(1);
            const CrossEntropyAttrs attrs = bw.attrs<CrossEntropyAttrs>();
            Tensor dlogits = Tensor::empty(logits.shape(), logits.dtype());
            dispatch("cross_entropy backward", logits.dtype(), [&]<class T>() {
                const T g = attrs.count == 0 ? T(0)
                                             : static_cast<T>(bw.grad_out().item() /
                                                              static_cast<double>(attrs.count));
                kernels::CrossEntropy<T>::backward(logits.data<T>(), targets.data<std::int32_t>(),
                                                   bw.saved(0).data<T>(), g, dlogits.data<T>(),
                                                   targets.numel(), logits.shape().back(),
                                                   attrs.ignore_index);
            });
            bw.accumulate(0, dlogits);
        },
        attrs);
}

// loss = mean (p − t)²;  dp = 2·dy/n · (p − t),  dt = −dp
Tensor mse_loss(const Tensor& prediction, const Tensor& target) {
    expect_same_shape("mse_loss", prediction.shape(), target.shape());
    if (prediction.dtype() != target.dtype())
        throw ValueError(fmt::format("mse_loss: {} {} and {} {}: dtypes differ", prediction.shape(),
                                     dtype_name(prediction.dtype()), target.shape(),
                                     dtype_name(target.dtype())));
    const auto n = static_cast<double>(prediction.numel());
    Tensor loss = dispatch("mse_loss", prediction.dtype(), [&]<class T>() {
        return scalar<T>(kernels::SquaredError<T>::forward(prediction.data<T>(), target.data<T>(),
                                                           prediction.numel()) /
                         n);
    });
    return record("mse_loss", {prediction, target}, loss, {}, [](Backward& bw) {
        const Tensor& p = bw.input(0);
        if (bw.create_graph()) {  // the same, as recorded ops
            const Tensor dp =
                mul(mul_scalar(sub(p, bw.input(1)), 2.0 / static_cast<double>(p.numel())),
                    bw.grad_out());
            bw.accumulate(0, dp);
            if (bw.needs(1)) bw.accumulate(1, neg(dp));
            return;
        }
        Tensor dp = Tensor::empty(p.shape(), p.dtype());
        dispatch("mse_loss backward", p.dtype(), [&]<class T>() {
            const T g = static_cast<T>(2.0 * bw.grad_out().item() / static_cast<double>(p.numel()));
            kernels::SquaredError<T>::backward(p.data<T>(), bw.input(1).data<T>(), g, dp.data<T>(),
                                               p.numel());
        });
        bw.accumulate(0, dp);
        if (bw.needs(1)) bw.accumulate(1, neg(dp));
    });
}

}  // namespace tapegrad
