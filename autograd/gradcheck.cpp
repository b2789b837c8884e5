#include "autograd/gradcheck.hpp"

#include <fmt/format.h>

#include <cmath>
#include <numeric>
#include <set>

#include "autograd/gradcheck_detail.hpp"
#include "autograd/ops/binary.hpp"
#include "autograd/ops/reduce.hpp"
#include "autograd/tape.hpp"
#include "core/random.hpp"

namespace tapegrad {
namespace {

void check_inputs(const std::vector<Tensor>& inputs) {
    bool any = false;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i].requires_grad()) continue;
        any = true;
        if (inputs[i].dtype() != f64)
            throw ValueError(
                fmt::format("gradcheck: input {} {} is {}; gradcheck needs f64 (use .to(f64))", i,
                            inputs[i].shape(), dtype_name(inputs[i].dtype())));
        if (!inputs[i].is_leaf())
            throw ValueError(
                fmt::format("gradcheck: input {} {} is not a leaf", i, inputs[i].shape()));
    }
    if (!any) throw ValueError("gradcheck: no input requires grad");
}

// L = Σ v ⊙ f(x), without recording.
double projected(const GradcheckFn& f, const std::vector<Tensor>& inputs, const Tensor& v) {
    return sum(mul(detail::evaluate_without_grad(f, inputs), v)).item();
}

// The flat elements of input `input` to check, ascending: all of them, or a seeded sample of
// max_elements distinct ones. Floyd's algorithm draws the sample without a [numel] buffer, so a
// large embedding table costs no more than a bias.
}  // namespace

std::vector<std::int64_t> detail::elements_to_check(std::int64_t numel, std::size_t input,
                                                    const GradcheckOptions& options) {
    const auto n = static_cast<std::uint64_t>(numel);
    const std::uint64_t k = options.max_elements;
    std::vector<std::int64_t> out;
    if (k == 0 || k >= n) {
        out.resize(n);
        std::iota(out.begin(), out.end(), std::int64_t{0});
        return out;
    }
    Generator gen(options.seed + 0x9E3779B97F4A7C15ULL * (input + 1));
    std::set<std::uint64_t> picked;
    for (std::uint64_t j = n - k; j < n; ++j) {
        const std::uint64_t t = gen.below(j + 1);
        picked.insert(picked.count(t) ? j : t);
    }
    out.assign(picked.begin(), picked.end());
    return out;
}

namespace {

// Central difference of L at element k of x, which is restored afterwards.
double central_difference(const GradcheckFn& f, const std::vector<Tensor>& inputs, const Tensor& v,
                          const Tensor& x, std::int64_t k, double eps) {
    double* px = x.data<double>();
    const double saved = px[k];
    px[k] = saved + eps;
    const double plus = projected(f, inputs, v);
    px[k] = saved - eps;
    const double minus = projected(f, inputs, v);
    px[k] = saved;
    return (plus - minus) / (2 * eps);
}

}  // namespace

namespace detail {

Tensor evaluate_without_grad(const GradcheckFn& f, const std::vector<Tensor>& inputs) {
    NoGrad no_grad;
    return f(inputs);
}

Tensor projection(const Tensor& probe, std::uint64_t seed) {
    return uniform(probe.shape(), 0.5, 1.5, {.dtype = f64, .seed = seed});
}

std::vector<Tensor> analytic_gradients(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                                       const Tensor& v) {
    const Tensor out = f(inputs);
    if (!out.requires_grad())
        throw ValueError("gradcheck: the output does not depend on any input that requires grad");
    std::vector<Tensor> wanted;
    for (const Tensor& x : inputs)
        if (x.requires_grad()) wanted.push_back(x);
    const std::vector<Tensor> grads = grad({out}, wanted, {.grad_outputs = {v}});
    std::vector<Tensor> out_grads(inputs.size());
    for (std::size_t i = 0, k = 0; i < inputs.size(); ++i)
        if (inputs[i].requires_grad()) out_grads[i] = grads[k++];
    return out_grads;
}

}  // namespace detail

std::string GradcheckReport::message() const {
    std::string out = fmt::format(
        "gradcheck {}: {} {}; worst: {} {}: analytic {:.10g}, numeric {:.10g} "
        "(abs error {:.3g}, rel error {:.3g})",
        ok ? "passed" : "FAILED", checked, probes ? "probes" : "elements",
        probes ? "probe" : fmt::format("input {} element", input), element, analytic, numeric,
        max_abs_error, max_rel_error);
    for (const std::string& note : notes) out += "; " + note;
    if (located) out += "; " + located->message();
    return out;
}

GradcheckReport gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options) {
    check_inputs(inputs);
    if (options.fast) return detail::gradcheck_probes(f, inputs, options);
    std::vector<std::vector<std::int64_t>> elements(inputs.size());
    std::vector<std::size_t> compared;
    std::size_t checked = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i].requires_grad()) continue;
        elements[i] = detail::elements_to_check(inputs[i].numel(), i, options);
        checked += elements[i].size();
        compared.push_back(i);
    }
    const Tensor probe = detail::evaluate_without_grad(f, inputs);
    detail::Tally tally(options);
    for (int p = 0; p < options.projections; ++p) {
        const Tensor v = detail::projection(probe, options.seed + 7919 * p);
        const std::vector<Tensor> grads = detail::analytic_gradients(f, inputs, v);
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            const Tensor& x = inputs[i];
            if (!x.requires_grad()) continue;
            const Tensor& g = grads[i];
            for (std::int64_t k : elements[i])
                tally.add(i, k, g.defined() ? g.data<double>()[k] : 0.0,
                          central_difference(f, inputs, v, x, k, options.eps));
        }
    }
    GradcheckReport report = tally.finish(checked, compared);
    if (options.locate && !report.ok) report.located = locate_wrong_node(f, inputs, options);
    return report;
}

}  // namespace tapegrad
