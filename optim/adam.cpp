#include "optim/adam.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <span>

#include "core/kernels/parallel.hpp"

namespace tapegrad {
namespace {

std::vector<std::string> adam_buffers(const char* name, const AdamOptions& o) {
    for (const auto& [what, beta] : {std::pair{"beta1", o.beta1}, std::pair{"beta2", o.beta2}})
        if (!(beta >= 0.0 && beta < 1.0))
            throw ValueError(fmt::format("{}: {} must be in [0, 1) ({})", name, what, beta));
    if (!(o.eps >= 0.0)) throw ValueError(fmt::format("{}: eps must be >= 0 ({})", name, o.eps));
    if (o.amsgrad) return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    return {"exp_avg", "exp_avg_sq"};
}

// torch's defaults differ only here: Adam 0, AdamW 1e-2.
double weight_decay_or_default(const AdamOptions& o, bool decoupled) {
    return o.weight_decay.value_or(decoupled ? 1e-2 : 0.0);
}

template <class T>
struct AdamStep {
    T decay;  // AdamW's 1 − lr·wd, else 1
    T l2;     // Adam's wd, else 0
    T beta1, one_minus_beta1, beta2, one_minus_beta2;
    T step_size, bias_correction2_sqrt, eps;

    // vmax is null without amsgrad. Written so that GCC vectorises it: raw pointers, the amsgrad
    // test outside the loop, and -fno-math-errno (CMakeLists.txt), without which the square root
    // was a call to sqrtf per element (the toy GPT's step spent 6 % of its time here).
    void run(std::span<T> params, std::span<const T> grads, T* m, T* v, T* vmax) const {
        const auto n = static_cast<std::int64_t>(params.size());
        T* p = params.data();
        const T* grad = grads.data();
        if (vmax)
            kernels::parallel_for_simd(n, [&](std::int64_t i) {
                moments(p[i], grad[i], m[i], v[i]);
                vmax[i] = std::max(vmax[i], v[i]);
                p[i] -= step(m[i], vmax[i]);
            });
        else
            kernels::parallel_for_simd(n, [&](std::int64_t i) {
                moments(p[i], grad[i], m[i], v[i]);
                p[i] -= step(m[i], v[i]);
            });
    }

private:
    // Decays p, then moves the moments m and v toward the gradient (with Adam's L2 term).
    void moments(T& p, T grad, T& m, T& v) const {
        p *= decay;
        const T g = grad + l2 * p;
        m = beta1 * m + one_minus_beta1 * g;
        v = beta2 * v + one_minus_beta2 * g * g;
    }
    T step(T m, T second) const {
        return step_size * (m / (std::sqrt(second) / bias_correction2_sqrt + eps));
    }
};

}  // namespace

Adam::Adam(std::vector<Tensor> params, AdamOptions options)
    : Adam("Adam", one_group(std::move(params)), options, false) {}

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions options)
    : Adam("Adam", std::move(groups), options, false) {}

Adam::Adam(const char* name, std::vector<ParamGroup> groups, AdamOptions options, bool decoupled)
    : Optimizer(name, std::move(groups), options.lr, weight_decay_or_default(options, decoupled),
                adam_buffers(name, options)),
      opt_(options),
      decoupled_(decoupled) {
    opt_.weight_decay = weight_decay_or_default(options, decoupled);
}

AdamW::AdamW(std::vector<Tensor> params, AdamOptions options)
    : Adam("AdamW", one_group(std::move(params)), options, true) {}

AdamW::AdamW(std::vector<ParamGroup> groups, AdamOptions options)
    : Adam("AdamW", std::move(groups), options, true) {}

void Adam::update(const Tensor& param, const Tensor& grad, ParamState& state, double lr,
                  double weight_decay) {
    const double t = static_cast<double>(state.step);
    const double bias_correction1 = 1.0 - std::pow(opt_.beta1, t);
    const double bias_correction2 = 1.0 - std::pow(opt_.beta2, t);
    dispatch(name(), param.dtype(), [&]<class T>() {
        const AdamStep<T> step{
            .decay = T(decoupled_ ? 1.0 - lr * weight_decay : 1.0),
            .l2 = T(decoupled_ ? 0.0 : weight_decay),
            .beta1 = T(opt_.beta1),
            .one_minus_beta1 = T(1.0 - opt_.beta1),
            .beta2 = T(opt_.beta2),
            .one_minus_beta2 = T(1.0 - opt_.beta2),
            .step_size = T(lr / bias_correction1),
            .bias_correction2_sqrt = T(std::sqrt(bias_correction2)),
            .eps = T(opt_.eps),
        };
        T* vmax = opt_.amsgrad ? state.buffers[2].data<T>() : nullptr;
        step.run(param.span<T>(), grad.span<T>(), state.buffers[0].data<T>(),
                 state.buffers[1].data<T>(), vmax);
    });
}

}  // namespace tapegrad
