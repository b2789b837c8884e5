// gradcheck's fast mode: each probe draws a random direction w over every input at once and
// compares vᵀJw, the analytic gradients dotted with w, against the directional central difference
// (L(x + eps·w) − L(x − eps·w)) / 2eps: two forward passes per probe, whatever the inputs' size.
// A wrong backward changes vᵀJ, so almost every w sees it.
#include <fmt/format.h>

#include "autograd/gradcheck_detail.hpp"
#include "autograd/ops/binary.hpp"
#include "autograd/ops/reduce.hpp"
#include "core/random.hpp"

namespace tapegrad::detail {
namespace {

// Adds step·w to every input that requires grad, in place (gradcheck restores the values).
void move_along(const std::vector<Tensor>& inputs, const std::vector<Tensor>& w, double step) {
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!w[i].defined()) continue;
        double* x = inputs[i].data<double>();
        const double* d = w[i].data<double>();
        for (std::int64_t k = 0; k < inputs[i].numel(); ++k) x[k] += step * d[k];
    }
}

double projected_value(const GradcheckFn& f, const std::vector<Tensor>& inputs, const Tensor& v) {
    return sum(mul(evaluate_without_grad(f, inputs), v)).item();
}

bool all_zero(const Tensor& g) {
    for (double x : g.span<double>())
        if (x != 0.0) return false;
    return true;
}

}  // namespace

GradcheckReport gradcheck_probes(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                                 const GradcheckOptions& options) {
    if (options.probes < 1)
        throw ValueError(
            fmt::format("gradcheck: fast mode needs probes >= 1 (got {})", options.probes));
    const Tensor v = projection(evaluate_without_grad(f, inputs), options.seed);
    const std::vector<Tensor> grads = analytic_gradients(f, inputs, v);
    Tally tally(options);
    for (int p = 0; p < options.probes; ++p) {
        std::vector<Tensor> w(inputs.size());
        double analytic = 0.0;
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            if (!inputs[i].requires_grad()) continue;
            w[i] = uniform(inputs[i].shape(), -1.0, 1.0,
                           {.dtype = f64, .seed = options.seed + 104729 * (p + 1) + i});
            analytic += sum(mul(grads[i], w[i])).item();
        }
        move_along(inputs, w, options.eps);
        const double plus = projected_value(f, inputs, v);
        move_along(inputs, w, -2 * options.eps);
        const double minus = projected_value(f, inputs, v);
        move_along(inputs, w, options.eps);
        tally.add(0, p, analytic, (plus - minus) / (2 * options.eps));
    }
    GradcheckReport report = tally.finish(static_cast<std::size_t>(options.probes), {});
    report.probes = true;
    report.input = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i)
        if (inputs[i].requires_grad() && all_zero(grads[i])) note_zero(report, i);
    return report;
}

}  // namespace tapegrad::detail
