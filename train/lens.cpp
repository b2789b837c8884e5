#include "train/lens.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "autograd/ops/matmul.hpp"
#include "autograd/ops/norm.hpp"
#include "autograd/ops/shape.hpp"
#include "autograd/ops/softmax.hpp"
#include "autograd/tape.hpp"

namespace tapegrad {
namespace {

const Tensor& parameter(const std::map<std::string, Tensor>& params, const std::string& name) {
    const auto it = params.find(name);
    if (it == params.end()) throw ValueError(fmt::format("logit_lens: the GPT has no '{}'", name));
    return it->second;
}

// The top-k of each row of probabilities [T,V].
std::vector<std::vector<LensGuess>> top_k(const std::vector<double>& p, std::int64_t T,
                                          std::int64_t V, std::int64_t k,
                                          const std::function<std::string(std::int32_t)>& label) {
    std::vector<std::vector<LensGuess>> rows;
    std::vector<std::int64_t> order(static_cast<std::size_t>(V));
    const auto keep = static_cast<std::ptrdiff_t>(std::min(k, V));
    for (std::int64_t t = 0; t < T; ++t) {
        const double* row = p.data() + t * V;
        std::iota(order.begin(), order.end(), 0);
        std::partial_sort(order.begin(), order.begin() + keep, order.end(),
                          [row](std::int64_t a, std::int64_t b) { return row[a] > row[b]; });
        auto& guesses = rows.emplace_back();
        for (std::ptrdiff_t i = 0; i < keep; ++i)
            guesses.push_back({label(static_cast<std::int32_t>(order[static_cast<std::size_t>(i)])),
                               row[order[static_cast<std::size_t>(i)]]});
    }
    return rows;
}

// Per position of the final residual stream x [T,C]: the layer norm's mean and 1/σ.
std::vector<std::pair<double, double>> norm_stats(const std::vector<double>& x, std::int64_t T,
                                                  std::int64_t C, double eps) {
    std::vector<std::pair<double, double>> out;
    for (std::int64_t t = 0; t < T; ++t) {
        double mean = 0, var = 0;
        for (std::int64_t c = 0; c < C; ++c) mean += x[t * C + c];
        mean /= static_cast<double>(C);
        for (std::int64_t c = 0; c < C; ++c) var += (x[t * C + c] - mean) * (x[t * C + c] - mean);
        out.emplace_back(mean, 1.0 / std::sqrt(var / static_cast<double>(C) + eps));
    }
    return out;
}

// [head]: mean over t < T−1 of γ·(c − mean c)·rstd_t · wte[ids[t+1]], with c = the head's output
// at t [D] @ its rows of c_proj.weight [D,C].
std::vector<double> head_contributions(const Tensor& head_outputs, const Tensor& proj_weight,
                                       const std::vector<std::vector<double>>& readers,
                                       const std::vector<std::pair<double, double>>& stats) {
    const std::int64_t H = head_outputs.dim(1), T = head_outputs.dim(2), D = head_outputs.dim(3),
                       C = H * D;
    const std::vector<double> out = head_outputs.to_vector(), w = proj_weight.to_vector();
    std::vector<double> result(static_cast<std::size_t>(H), 0.0);
    std::vector<double> c(static_cast<std::size_t>(C));
    for (std::int64_t h = 0; h < H; ++h)
        for (std::int64_t t = 0; t + 1 < T; ++t) {
            std::fill(c.begin(), c.end(), 0.0);
            for (std::int64_t d = 0; d < D; ++d) {
                const double a = out[static_cast<std::size_t>(((h * T) + t) * D + d)];
                for (std::int64_t j = 0; j < C; ++j) c[j] += a * w[(h * D + d) * C + j];
            }
            const double mean = std::accumulate(c.begin(), c.end(), 0.0) / static_cast<double>(C);
            double dot = 0;
            for (std::int64_t j = 0; j < C; ++j) dot += (c[j] - mean) * readers[t][j];
            result[static_cast<std::size_t>(h)] += dot * stats[t].second;
        }
    for (double& r : result) r /= static_cast<double>(T - 1);
    return result;
}

}  // namespace

LogitLens logit_lens(Gpt& model, const std::vector<std::int32_t>& ids,
                     const std::function<std::string(std::int32_t)>& token_label,
                     const LensOptions& options) {
    if (options.top_k < 1)
        throw ValueError(fmt::format("logit_lens: top_k must be positive (got {})", options.top_k));
    const auto T = static_cast<std::int64_t>(ids.size());
    if (T == 0) throw ValueError("logit_lens: the prompt has no tokens");
    const GptConfig& cfg = model.config();
    const bool was_training = model.is_training();
    NoGrad no_grad;
    model.eval();
    model.record_next_forward();
    try {
        model(tapegrad::ids(ids, {1, T}));
    } catch (...) {
        model.take_activations();
        model.train(was_training);
        throw;
    }
    const GptActivations pass = model.take_activations();
    model.train(was_training);

    std::map<std::string, Tensor> params;
    for (auto& [name, t] : model.named_parameters()) params.emplace(name, t);
    const Tensor& gamma = parameter(params, "ln_f.weight");
    const Tensor& beta = parameter(params, "ln_f.bias");
    const Tensor& wte = parameter(params, "wte.weight");
    const std::int64_t C = cfg.n_embd, V = cfg.vocab_size;
    LogitLens lens;
    for (std::int32_t id : ids) lens.tokens.push_back(token_label(id));
    for (std::size_t l = 0; l < pass.residual.size(); ++l) {
        const Tensor& x = pass.residual[l];  // [1,T,C]
        lens.layers.push_back(l == 0 ? "embeddings" : fmt::format("block {}", l - 1));
        const Tensor logits =
            matmul(layer_norm(x, gamma, beta, cfg.layer_norm_epsilon), wte, false, true);
        lens.top.push_back(
            top_k(softmax(logits, -1).to_vector(), T, V, options.top_k, token_label));
        const std::vector<double> v = x.to_vector();
        double total = 0;
        for (std::int64_t t = 0; t < T; ++t) {
            double sq = 0;
            for (std::int64_t c = 0; c < C; ++c) sq += v[t * C + c] * v[t * C + c];
            total += std::sqrt(sq);
        }
        lens.residual_norms.push_back(total / static_cast<double>(T));
    }
    if (T < 2) return lens;
    // The head's output is read as the logit of the next token: γ ⊙ wte[next] per position.
    const std::vector<double> g = gamma.to_vector();
    std::vector<std::vector<double>> readers;
    for (std::int64_t t = 0; t + 1 < T; ++t) {
        std::vector<double> row = slice(wte, 0, ids[t + 1], ids[t + 1] + 1).to_vector();
        for (std::int64_t c = 0; c < C; ++c) row[c] *= g[c];
        readers.push_back(std::move(row));
    }
    const auto stats = norm_stats(pass.residual.back().to_vector(), T, C, cfg.layer_norm_epsilon);
    for (std::size_t l = 0; l < pass.head_outputs.size(); ++l)
        lens.head_logit.push_back(head_contributions(
            pass.head_outputs[l], parameter(params, fmt::format("h.{}.attn.c_proj.weight", l)),
            readers, stats));
    return lens;
}

}  // namespace tapegrad
