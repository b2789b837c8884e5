#include "optim/sgd.hpp"

#include <fmt/format.h>

#include <span>

#include "core/kernels/parallel.hpp"

namespace tapegrad {
namespace {

std::vector<std::string> sgd_buffers(const SGDOptions& o) {
    if (o.momentum < 0.0)
        throw ValueError(fmt::format("SGD: momentum must be >= 0 ({})", o.momentum));
    if (o.nesterov && (o.momentum <= 0.0 || o.dampening != 0.0))
        throw ValueError(
            fmt::format("SGD: nesterov needs momentum > 0 and dampening 0 "
                        "(momentum {}, dampening {})",
                        o.momentum, o.dampening));
    if (o.momentum == 0.0) return {};
    return {"momentum_buffer"};
}

template <class T>
struct SgdStep {
    T lr, weight_decay, momentum, one_minus_dampening;
    bool nesterov, first;  // first: the buffer starts as the gradient, undamped (torch)

    // buf may be null (no momentum).
    void run(std::span<T> p, std::span<const T> grad, T* buf) const {
        const auto n = static_cast<std::int64_t>(p.size());
        kernels::parallel_for(n, n, [&](std::int64_t i) {
            T g = grad[i] + weight_decay * p[i];
            if (buf) {
                buf[i] = first ? g : momentum * buf[i] + one_minus_dampening * g;
                g = nesterov ? g + momentum * buf[i] : buf[i];
            }
            p[i] -= lr * g;
        });
    }
};

}  // namespace

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : SGD(one_group(std::move(params)), options) {}

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions options)
    : Optimizer("SGD", std::move(groups), options.lr, options.weight_decay, sgd_buffers(options)),
      opt_(options) {}

void SGD::update(const Tensor& param, const Tensor& grad, ParamState& state, double lr,
                 double weight_decay) {
    dispatch("SGD", param.dtype(), [&]<class T>() {
        const SgdStep<T> step{
            T(lr),         T(weight_decay), T(opt_.momentum), T(1.0 - opt_.dampening),
            opt_.nesterov, state.step == 1};
        T* buf = state.buffers.empty() ? nullptr : state.buffers[0].data<T>();
        step.run(param.span<T>(), grad.span<T>(), buf);
    });
}

}  // namespace tapegrad
