#include "optim/rmsprop.hpp"

#include <fmt/format.h>

#include <cmath>
#include <span>

#include "core/kernels/parallel.hpp"

namespace tapegrad {
namespace {

std::vector<std::string> rmsprop_buffers(const RMSpropOptions& o) {
    for (const auto& [what, value] :
         {std::pair{"alpha", o.alpha}, std::pair{"eps", o.eps}, std::pair{"momentum", o.momentum}})
        if (!(value >= 0.0))
            throw ValueError(fmt::format("RMSprop: {} must be >= 0 ({})", what, value));
    std::vector<std::string> names{"square_avg"};
    if (o.centered) names.push_back("grad_avg");
    if (o.momentum > 0.0) names.push_back("momentum_buffer");
    return names;
}

template <class T>
struct RMSpropStep {
    T lr, weight_decay, alpha, one_minus_alpha, eps, momentum;

    // grad_avg is null unless centered, buf null without momentum.
    void run(std::span<T> p, std::span<const T> grad, T* square_avg, T* grad_avg, T* buf) const {
        const auto n = static_cast<std::int64_t>(p.size());
        kernels::parallel_for(n, n, [&](std::int64_t i) {
            const T g = grad[i] + weight_decay * p[i];
            square_avg[i] = alpha * square_avg[i] + one_minus_alpha * g * g;
            T variance = square_avg[i];
            if (grad_avg) {
                grad_avg[i] = alpha * grad_avg[i] + one_minus_alpha * g;
                variance -= grad_avg[i] * grad_avg[i];
            }
            const T denom = std::sqrt(variance) + eps;
            if (buf) {
                buf[i] = momentum * buf[i] + g / denom;
                p[i] -= lr * buf[i];
            } else {
                p[i] -= lr * (g / denom);
            }
        });
    }
};

}  // namespace

RMSprop::RMSprop(std::vector<Tensor> params, RMSpropOptions options)
    : RMSprop(one_group(std::move(params)), options) {}

RMSprop::RMSprop(std::vector<ParamGroup> groups, RMSpropOptions options)
    : Optimizer("RMSprop", std::move(groups), options.lr, options.weight_decay,
                rmsprop_buffers(options)),
      opt_(options) {
    int next = 1;
    if (opt_.centered) grad_avg_ = next++;
    if (opt_.momentum > 0.0) momentum_buffer_ = next;
}

void RMSprop::update(const Tensor& param, const Tensor& grad, ParamState& state, double lr,
                     double weight_decay) {
    dispatch("RMSprop", param.dtype(), [&]<class T>() {
        const RMSpropStep<T> step{T(lr),       T(weight_decay), T(opt_.alpha), T(1.0 - opt_.alpha),
                                  T(opt_.eps), T(opt_.momentum)};
        const auto buffer = [&](int b) { return b < 0 ? nullptr : state.buffers[b].data<T>(); };
        step.run(param.span<T>(), grad.span<T>(), buffer(0), buffer(grad_avg_),
                 buffer(momentum_buffer_));
    });
}

}  // namespace tapegrad
