#include "train/sample.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace tapegrad {
namespace {

void check_options(const SamplingOptions& o) {
    if (!(o.temperature >= 0) || o.top_k < 0 || !(o.top_p > 0 && o.top_p <= 1) ||
        !(o.repetition_penalty > 0))
        throw ValueError(
            fmt::format("sample_token: temperature {} and top_k {} must not be negative, top_p {} "
                        "must be in (0, 1], repetition_penalty {} positive",
                        o.temperature, o.top_k, o.top_p, o.repetition_penalty));
}

void penalise_repeats(std::vector<double>& z, std::span<const std::int32_t> history,
                      double penalty) {
    if (penalty == 1.0) return;
    std::vector<bool> seen(z.size(), false);
    for (std::int32_t id : history)
        if (id >= 0 && static_cast<std::size_t>(id) < z.size())
            seen[static_cast<std::size_t>(id)] = true;
    for (std::size_t i = 0; i < z.size(); ++i)
        if (seen[i]) z[i] = z[i] > 0 ? z[i] / penalty : z[i] * penalty;
}

}  // namespace

std::int32_t sample_token(const Tensor& logits, const SamplingOptions& options, Generator& gen,
                          std::span<const std::int32_t> history) {
    if (logits.rank() != 1 || logits.numel() == 0)
        throw ShapeError(
            fmt::format("sample_token: logits {}: expected one non-empty row [V]", logits.shape()));
    check_options(options);
    std::vector<double> z = logits.to_vector();
    penalise_repeats(z, history, options.repetition_penalty);
    std::vector<std::int32_t> order(z.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return z[a] > z[b]; });
    if (options.temperature == 0.0) return order[0];
    std::size_t k = options.top_k > 0 ? std::min<std::size_t>(options.top_k, z.size()) : z.size();
    // Softmax over the k best, shifted by the best logit so exp cannot overflow.
    std::vector<double> p(k);
    double total = 0;
    for (std::size_t i = 0; i < k; ++i)
        total += p[i] = std::exp((z[order[i]] - z[order[0]]) / options.temperature);
    if (options.top_p < 1.0) {  // the nucleus: the fewest best tokens holding top_p of the mass
        double kept = 0;
        std::size_t n = 0;
        while (n < k && kept < options.top_p * total) kept += p[n++];
        k = std::max<std::size_t>(n, 1), total = kept;
    }
    double u = gen.uniform() * total;
    for (std::size_t i = 0; i < k; ++i) {
        if ((u -= p[i]) < 0) return order[i];
    }
    return order[k - 1];
}

}  // namespace tapegrad
