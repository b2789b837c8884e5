// Tutorial step 4 (docs/tutorial.md): MultiHeadAttention, and one head's weights recomputed by
// hand from its kernels to show how Q, K and V are formed per head.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/layers/multi_head_attention.hpp>

using namespace tapegrad;

int main() {
    // [tutorial:mha]
    const Tensor x = uniform({1, 5, 8}, -1, 1, {.seed = 1});  // [B=1, T=5, E=8]
    MultiHeadAttention mha(8, {.num_heads = 2, .key_dim = 4, .seed = 2});
    const AttentionResult r = mha(x, x, x, {.return_attention_scores = true});
    fmt::print("output {}, weights {}\n", r.output.shape(), r.scores.shape());
    for (const auto& [name, p] : mha.named_parameters())
        fmt::print("  {:<24} {}\n", name, p.shape());
    // [/tutorial:mha]
    // [tutorial:one_head]
    // Head h uses its own slice of each kernel: Q_h = x·Wq[:,h,:] + bq[h], K_h likewise.
    const StateDict w = mha.state_dict();
    const std::int64_t h = 1;
    const auto head = [&](const char* name) {  // x [1,5,8] -> [1,5,4] for head h
        const Tensor kernel =
            reshape(slice(w.at(fmt::format("{}.kernel", name)), 1, h, h + 1), {8, 4});
        const Tensor bias = reshape(slice(w.at(fmt::format("{}.bias", name)), 0, h, h + 1), {4});
        return matmul(x, kernel) + bias;
    };
    const Tensor q = head("query"), k = head("key");
    const Tensor by_hand = softmax(mul_scalar(matmul(q, k, false, true), 1 / std::sqrt(4.0)));
    const std::vector<double> a = by_hand.to_vector(), b = slice(r.scores, 1, h, h + 1).to_vector();
    double diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff = std::max(diff, std::abs(a[i] - b[i]));
    fmt::print("head {} recomputed by hand: max |difference| {}\n", h,
               diff < 1e-6 ? "below 1e-6" : fmt::format("{:.2e}", diff));
    // [/tutorial:one_head]
}
