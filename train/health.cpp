#include "train/health.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <span>

#include "autograd/tape.hpp"

namespace tapegrad {
namespace {

// Calls f with t's values as a span of float or double, read in place: the measured tensors
// ([B,H,T,T] weights, [B,T,4C] GELU inputs) are the largest of the pass, and a double copy of
// each cost most of a measured step.
template <class F>
void with_values(const Tensor& t, F&& f) {
    if (t.dtype() == f32) return f(std::span<const float>(t.span<float>()));
    if (t.dtype() == f64) return f(std::span<const double>(t.span<double>()));
    const std::vector<double> copy = t.to_vector();
    f(std::span<const double>(copy));
}

double norm(const Tensor& t) {
    double s = 0.0;
    with_values(t, [&](auto v) {
        for (double x : v) s += x * x;
    });
    return std::sqrt(s);
}

// ‖a − b‖ for two tensors of one shape.
double distance(const Tensor& a, const Tensor& b) {
    double s = 0.0;
    with_values(a, [&](auto va) {
        with_values(b, [&](auto vb) {
            for (std::size_t i = 0; i < va.size(); ++i) {
                const double d = double(va[i]) - double(vb[i]);
                s += d * d;
            }
        });
    });
    return std::sqrt(s);
}

// Mean and population std over all entries.
std::pair<double, double> mean_std(const Tensor& t) {
    double sum = 0.0, sq = 0.0;
    std::size_t n = 0;
    with_values(t, [&](auto v) {
        n = v.size();
        for (auto x : v) sum += x;
        const double mean = sum / double(n);
        for (auto x : v) sq += (x - mean) * (x - mean);
    });
    return {sum / double(n), std::sqrt(sq / double(n))};
}

double share_below(const Tensor& t, double limit) {
    double share = 0.0;
    with_values(t, [&](auto v) {
        const auto below = std::count_if(v.begin(), v.end(), [&](auto x) { return x < limit; });
        share = static_cast<double>(below) / static_cast<double>(v.size());
    });
    return share;
}

double largest_magnitude(const Tensor& t) {
    double biggest = 0.0;
    with_values(t, [&](auto v) {
        for (auto x : v) biggest = std::max(biggest, std::abs(double(x)));
    });
    return biggest;
}

}  // namespace

std::vector<ParameterHealth> parameter_health(
    const std::vector<std::pair<std::string, Tensor>>& parameters,
    const std::vector<Tensor>& before) {
    if (before.size() != parameters.size())
        throw ValueError(fmt::format("parameter_health: {} parameters but {} saved copies",
                                     parameters.size(), before.size()));
    std::vector<ParameterHealth> out;
    for (std::size_t i = 0; i < parameters.size(); ++i) {
        const auto& [name, w] = parameters[i];
        if (before[i].shape() != w.shape())
            throw_shape_error(
                "parameter_health",
                fmt::format("{} {} against its saved copy {}", name, w.shape(), before[i].shape()),
                "the copies must be of these parameters, in order");
        const Tensor g = w.grad();
        const double weight_norm = norm(before[i]);
        out.push_back(
            {.name = name,
             .grad_norm = g.defined() ? norm(g) : 0.0,
             .weight_norm = weight_norm,
             .update_ratio = weight_norm > 0 ? distance(w, before[i]) / weight_norm : 0.0});
    }
    return out;
}

std::vector<double> attention_entropy(const Tensor& weights) {
    if (weights.rank() != 4)
        throw ValueError(
            fmt::format("attention_entropy: weights {}: expected [B,H,Tq,Tk]", weights.shape()));
    const std::int64_t B = weights.dim(0), H = weights.dim(1),
                       per_head = weights.dim(2) * weights.dim(3);
    std::vector<double> out(static_cast<std::size_t>(H), 0.0);
    with_values(weights, [&](auto p) {
        for (std::int64_t b = 0; b < B; ++b)
            for (std::int64_t h = 0; h < H; ++h)
                for (std::int64_t i = 0; i < per_head; ++i) {
                    const double x = p[static_cast<std::size_t>((b * H + h) * per_head + i)];
                    if (x > 0) out[static_cast<std::size_t>(h)] -= x * std::log(x);
                }
    });
    for (double& e : out) e /= static_cast<double>(B * weights.dim(2));
    return out;
}

void activation_health(const GptActivations& pass, HealthStats& stats) {
    stats.layers.clear();
    for (std::size_t l = 0; l < pass.attention.size(); ++l) {
        const auto [mean, std] = mean_std(pass.residual[l + 1]);  // after block l
        stats.layers.push_back({.mean = mean,
                                .std = std,
                                .gelu_below_minus3 = share_below(pass.gelu_inputs[l], -3.0),
                                .attention_entropy = attention_entropy(pass.attention[l])});
    }
    stats.logit_max = largest_magnitude(pass.logits);
}

HealthMonitor::HealthMonitor(HealthOptions options, Gpt* gpt) : opt_(options), gpt_(gpt) {
    if (opt_.every < 1)
        throw ValueError(fmt::format("HealthMonitor: every must be positive (got {})", opt_.every));
}

void HealthMonitor::on_step_begin(FitRun& run, std::int64_t step) {
    measuring_ = step % opt_.every == 0;
    if (!measuring_) return;
    before_.clear();
    NoGrad no_grad;
    for (const auto& [name, w] : run.model().named_parameters()) before_.push_back(w.clone());
    if (gpt_) gpt_->record_next_forward();
}

void HealthMonitor::on_step_end(FitRun& run, const StepLogs& logs) {
    if (!measuring_) return;
    measuring_ = false;
    HealthStats stats{.step = logs.step};
    stats.parameters = parameter_health(run.model().named_parameters(), before_);
    before_.clear();
    if (gpt_) {
        const GptActivations pass = gpt_->take_activations();
        if (!pass.logits.defined())
            throw ValueError(
                "HealthMonitor: the GPT it watches did not run in this step (is it "
                "the model fit trains?)");
        activation_health(pass, stats);
    }
    latest_ = std::move(stats);
}

}  // namespace tapegrad
