// The pieces gradcheck, its fast mode and gradgradcheck share. Internal to autograd/.
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "autograd/gradcheck.hpp"

namespace tapegrad::detail {

inline void note_zero(GradcheckReport& report, std::size_t input) {
    report.zero_inputs.push_back(input);
    report.notes.push_back(
        fmt::format("input {}: every gradient is 0 — is the input used?", input));
}

// Keeps the error maxima and the worst element: the one furthest over atol + rtol·|numeric|.
class Tally {
public:
    explicit Tally(const GradcheckOptions& options) : options_(options) {}
    void add(std::size_t input, std::int64_t element, double analytic, double numeric) {
        if (analytic != 0.0 || numeric != 0.0) nonzero_.insert(input);
        const double abs_err = std::abs(analytic - numeric);
        const double excess = abs_err - (options_.atol + options_.rtol * std::abs(numeric));
        report_.max_abs_error = std::max(report_.max_abs_error, abs_err);
        report_.max_rel_error =
            std::max(report_.max_rel_error, abs_err / std::max(std::abs(numeric), options_.atol));
        if (excess > worst_excess_ || std::isnan(abs_err)) {
            worst_excess_ = std::isnan(abs_err) ? INFINITY : excess;
            report_.input = input;
            report_.element = element;
            report_.analytic = analytic;
            report_.numeric = numeric;
        }
    }
    // `compared` lists the inputs whose elements were compared: one whose gradients were all 0
    // both ways passes, but is named in a note.
    GradcheckReport finish(std::size_t checked, const std::vector<std::size_t>& compared) {
        report_.checked = checked;
        report_.ok = worst_excess_ <= 0;
        for (std::size_t i : compared)
            if (!nonzero_.count(i)) note_zero(report_, i);
        return report_;
    }

private:
    std::set<std::size_t> nonzero_;  // inputs with a non-zero gradient either way
    const GradcheckOptions& options_;
    GradcheckReport report_;
    double worst_excess_ = -INFINITY;  // > 0 means a failure
};

// The flat elements of an input to check, ascending: all, or a seeded sample of max_elements.
std::vector<std::int64_t> elements_to_check(std::int64_t numel, std::size_t input,
                                            const GradcheckOptions& options);
// f(inputs) without recording: the output's shape, or a value of L.
Tensor evaluate_without_grad(const GradcheckFn& f, const std::vector<Tensor>& inputs);
// The projection vector v for an output like `probe`: uniform in [0.5, 1.5], seeded.
Tensor projection(const Tensor& probe, std::uint64_t seed);
// vᵀJ for every input that requires grad (undefined for the others), leaving every .grad() alone.
std::vector<Tensor> analytic_gradients(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                                       const Tensor& v);
// Fast mode (GradcheckOptions::fast): directional probes instead of elements.
GradcheckReport gradcheck_probes(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                                 const GradcheckOptions& options);

}  // namespace tapegrad::detail
