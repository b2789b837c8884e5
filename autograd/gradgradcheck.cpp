// gradgradcheck: gradcheck of the first derivative. With v a random upstream gradient and u_i
// random weights, s(x, v) = Σ_i ⟨∂⟨f(x), v⟩/∂x_i, u_i⟩ is computed by a create_graph backward,
// so gradcheck can differentiate it again (the second derivatives, and the backward's dependence
// on v) and compare with central differences of s, each one a forward and a first backward.
// First, the create_graph first derivative must equal the ordinary backward's.
#include <fmt/format.h>

#include <optional>

#include "autograd/gradcheck_detail.hpp"
#include "autograd/ops/binary.hpp"
#include "autograd/ops/reduce.hpp"
#include "autograd/tape.hpp"
#include "core/random.hpp"

namespace tapegrad {
namespace {

// The first derivative that gradcheck differentiates below comes from the create_graph form of
// each backward; the ordinary form is another piece of code. Both must agree, or a wrong
// create_graph formula would be checked against its own derivative and pass. Returns the failed
// report when they differ.
std::optional<GradcheckReport> create_graph_disagrees(const GradcheckFn& f,
                                                      const std::vector<Tensor>& inputs,
                                                      const Tensor& v,
                                                      const GradcheckOptions& options) {
    std::vector<Tensor> wanted;
    std::vector<std::size_t> index;
    for (std::size_t i = 0; i < inputs.size(); ++i)
        if (inputs[i].requires_grad()) wanted.push_back(inputs[i]), index.push_back(i);
    EnableGrad recording;
    const Tensor y = f(inputs);
    const std::vector<Tensor> ordinary =
        grad({y}, wanted, {.grad_outputs = {v.detach()}, .retain_graph = true});
    const std::vector<Tensor> recorded =
        grad({y}, wanted, {.grad_outputs = {v.detach()}, .create_graph = true});
    // gradcheck's worst-element tally, the ordinary backward's value standing for the numeric one
    detail::Tally tally(options);
    std::size_t checked = 0;
    for (std::size_t k = 0; k < wanted.size(); ++k) {
        const std::vector<double> a = recorded[k].to_vector(), b = ordinary[k].to_vector();
        for (std::size_t e = 0; e < a.size(); ++e, ++checked)
            tally.add(index[k], static_cast<std::int64_t>(e), a[e], b[e]);
    }
    GradcheckReport report = tally.finish(checked, {});
    if (report.ok) return std::nullopt;
    report.notes.push_back(
        "the create_graph backward's first derivative differs from the ordinary backward's "
        "(analytic: create_graph, numeric: ordinary)");
    return report;
}

}  // namespace

GradcheckReport gradgradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options) {
    const Tensor probe = detail::evaluate_without_grad(f, inputs);
    const Tensor v = uniform(probe.shape(), 0.5, 1.5,
                             {.dtype = f64, .seed = options.seed + 101, .requires_grad = true});
    if (auto differ = create_graph_disagrees(f, inputs, v, options)) return *differ;
    std::vector<Tensor> weights(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i)
        if (inputs[i].requires_grad())
            weights[i] = uniform(inputs[i].shape(), 0.5, 1.5,
                                 {.dtype = f64, .seed = options.seed + 211 * (i + 1)});
    const GradcheckFn first_derivative = [&f, &weights](const std::vector<Tensor>& all) {
        EnableGrad recording;  // also when gradcheck evaluates s without recording
        const std::vector<Tensor> xs(all.begin(), all.end() - 1);
        std::vector<Tensor> wanted, w;
        for (std::size_t i = 0; i < xs.size(); ++i) {
            if (!xs[i].requires_grad()) continue;
            wanted.push_back(xs[i]);
            w.push_back(weights[i]);
        }
        const Tensor y = f(xs);
        const std::vector<Tensor> g =
            grad({y}, wanted, {.grad_outputs = {all.back()}, .create_graph = true});
        Tensor s = sum(mul(g[0], w[0]));
        for (std::size_t k = 1; k < g.size(); ++k) s = add(s, sum(mul(g[k], w[k])));
        return s;
    };
    std::vector<Tensor> all = inputs;
    all.push_back(v);
    GradcheckOptions scalar = options;
    scalar.projections = 1;  // s is a scalar: every projection is the same up to a factor
    GradcheckReport report = gradcheck(first_derivative, all, scalar);
    // A zero second derivative is what a linear op has: say that, not "is the input used?".
    report.notes.clear();
    for (const std::size_t i : report.zero_inputs) {
        report.notes.push_back(
            i == inputs.size()
                ? fmt::format("upstream gradient (input {}): every gradient is 0 — does the "
                              "backward use dy?",
                              i)
                : fmt::format("input {}: every second derivative is 0 (f is linear in it)", i));
    }
    return report;
}

}  // namespace tapegrad
