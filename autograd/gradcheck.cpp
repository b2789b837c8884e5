#include "autograd/gradcheck.hpp"

#include <cmath>

#include <fmt/format.h>

#include "autograd/ops/binary.hpp"
#include "autograd/ops/reduce.hpp"
#include "autograd/tape.hpp"

namespace tapegrad {
namespace {

void check_inputs(const std::vector<Tensor>& inputs) {
    bool any = false;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i].requires_grad()) continue;
        any = true;
        if (inputs[i].dtype() != f64)
            throw ValueError(fmt::format("gradcheck: input {} {} is {}; gradcheck needs f64 (use .to(f64))", i,
                                         inputs[i].shape(), dtype_name(inputs[i].dtype())));
        if (!inputs[i].is_leaf())
            throw ValueError(fmt::format("gradcheck: input {} {} is not a leaf", i, inputs[i].shape()));
    }
    if (!any) throw ValueError("gradcheck: no input requires grad");
}

// L = Σ v ⊙ f(x), without recording.
double projected(const GradcheckFn& f, const std::vector<Tensor>& inputs, const Tensor& v) {
    NoGrad no_grad;
    return sum(mul(f(inputs), v)).item();
}

}  // namespace

std::string GradcheckReport::message() const {
    return fmt::format("gradcheck {}: {} elements; worst: input {} element {}: analytic {:.10g}, numeric {:.10g} "
                       "(abs error {:.3g}, rel error {:.3g})",
                       ok ? "passed" : "FAILED", checked, input, element, analytic, numeric, max_abs_error,
                       max_rel_error);
}

GradcheckReport gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
    check_inputs(inputs);
    GradcheckReport report;
    double worst_excess = -INFINITY;  // |a − n| − (atol + rtol·|n|): > 0 means a failure
    Tensor probe;
    {
        NoGrad no_grad;
        probe = f(inputs);
    }
    for (int p = 0; p < options.projections; ++p) {
        const Tensor v = uniform(probe.shape(), 0.5, 1.5, {.dtype = f64, .seed = options.seed + 7919 * p});
        for (const Tensor& x : inputs) if (x.requires_grad()) x.zero_grad();
        const Tensor out = f(inputs);
        if (!out.requires_grad()) throw ValueError("gradcheck: the output does not depend on any input that requires grad");
        out.backward(v);
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            const Tensor& x = inputs[i];
            if (!x.requires_grad()) continue;
            const Tensor g = x.grad();
            double* px = x.data<double>();
            for (std::int64_t k = 0; k < x.numel(); ++k) {
                const double saved = px[k];
                px[k] = saved + options.eps;
                const double plus = projected(f, inputs, v);
                px[k] = saved - options.eps;
                const double minus = projected(f, inputs, v);
                px[k] = saved;
                const double numeric = (plus - minus) / (2 * options.eps);
                const double analytic = g.defined() ? g.data<double>()[k] : 0.0;
                const double abs_err = std::abs(analytic - numeric);
                const double excess = abs_err - (options.atol + options.rtol * std::abs(numeric));
                ++report.checked;
                report.max_abs_error = std::max(report.max_abs_error, abs_err);
                report.max_rel_error = std::max(report.max_rel_error, abs_err / std::max(std::abs(numeric), options.atol));
                if (excess > worst_excess || std::isnan(abs_err)) {
                    worst_excess = std::isnan(abs_err) ? INFINITY : excess;
                    report.input = i;
                    report.element = k;
                    report.analytic = analytic;
                    report.numeric = numeric;
                }
            }
        }
    }
    for (const Tensor& x : inputs) if (x.requires_grad()) x.zero_grad();
    report.ok = worst_excess <= 0;
    return report;
}

}  // namespace tapegrad
