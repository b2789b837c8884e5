#include "optim/adagrad.hpp"

#include <fmt/format.h>

#include <cmath>
#include <span>

#include "core/kernels/parallel.hpp"

namespace tapegrad {
namespace {

std::vector<std::string> adagrad_buffers(const AdagradOptions& o) {
    for (const auto& [what, value] :
         {std::pair{"lr_decay", o.lr_decay}, std::pair{"eps", o.eps},
          std::pair{"initial_accumulator_value", o.initial_accumulator_value}})
        if (!(value >= 0.0))
            throw ValueError(fmt::format("Adagrad: {} must be >= 0 ({})", what, value));
    return {"sum"};
}

template <class T>
struct AdagradStep {
    T lr, weight_decay, eps;  // lr already decayed for this step

    void run(std::span<T> p, std::span<const T> grad, T* sum) const {
        const auto n = static_cast<std::int64_t>(p.size());
        kernels::parallel_for(n, n, [&](std::int64_t i) {
            const T g = grad[i] + weight_decay * p[i];
            sum[i] += g * g;
            p[i] -= lr * (g / (std::sqrt(sum[i]) + eps));
        });
    }
};

}  // namespace

Adagrad::Adagrad(std::vector<Tensor> params, AdagradOptions options)
    : Adagrad(one_group(std::move(params)), options) {}

Adagrad::Adagrad(std::vector<ParamGroup> groups, AdagradOptions options)
    : Optimizer("Adagrad", std::move(groups), options.lr, options.weight_decay,
                adagrad_buffers(options)),
      opt_(options) {}

double Adagrad::initial_value(std::size_t /*buffer*/) const {
    return opt_.initial_accumulator_value;
}

void Adagrad::update(const Tensor& param, const Tensor& grad, ParamState& state, double lr,
                     double weight_decay) {
    const double decayed_lr = lr / (1.0 + static_cast<double>(state.step - 1) * opt_.lr_decay);
    dispatch("Adagrad", param.dtype(), [&]<class T>() {
        const AdagradStep<T> step{T(decayed_lr), T(weight_decay), T(opt_.eps)};
        step.run(param.span<T>(), grad.span<T>(), state.buffers[0].data<T>());
    });
}

}  // namespace tapegrad
