#include "train/sample.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <fmt/format.h>

namespace tapegrad {

std::int32_t sample_token(const Tensor& logits, const SamplingOptions& options, Generator& gen) {
    if (logits.rank() != 1 || logits.numel() == 0)
        throw ShapeError(fmt::format("sample_token: logits {}: expected one non-empty row [V]", logits.shape()));
    if (options.temperature < 0 || options.top_k < 0)
        throw ValueError(fmt::format("sample_token: temperature {} and top_k {} must not be negative",
                                     options.temperature, options.top_k));
    const std::vector<double> z = logits.to_vector();
    std::vector<std::int32_t> order(z.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return z[a] > z[b]; });
    if (options.temperature == 0.0) return order[0];
    const std::size_t k = options.top_k > 0 ? std::min<std::size_t>(options.top_k, z.size()) : z.size();
    // Softmax over the k best, shifted by the best logit so exp cannot overflow.
    std::vector<double> p(k);
    double total = 0;
    for (std::size_t i = 0; i < k; ++i) total += p[i] = std::exp((z[order[i]] - z[order[0]]) / options.temperature);
    double u = gen.uniform() * total;
    for (std::size_t i = 0; i < k; ++i) {
        if ((u -= p[i]) < 0) return order[i];
    }
    return order[k - 1];
}

}  // namespace tapegrad
