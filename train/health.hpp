// Training health, every K steps (Karpathy's "recipe" checks): per parameter tensor the gradient
// norm, the weight norm and the update-to-weight ratio ‖Δw‖/‖w‖ (about 1e-3 is healthy; much
// larger jolts the weights, much smaller barely moves them); for a GPT, per block the residual
// stream's mean and std, the share of GELU inputs below −3 (units in GELU's flat tail learn
// nothing), each head's attention entropy (ln T = uniform, 0 = one key), and the largest |logit|.
//   HealthMonitor health({.every = 50}, &gpt);  MetricsLogger metrics("run.jsonl", &health);
//   fit(gpt, loss, optimizer, data, options, {health, metrics});   // health before metrics
// Off-steps cost one comparison; a measured step copies the weights once and reads the tensors
// its forward pass computed anyway (Gpt::record_next_forward).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "layers/gpt.hpp"
#include "train/fit.hpp"
#include "viz/health.hpp"

namespace tapegrad {

struct HealthOptions {
    std::int64_t every = 100;  // measure steps 0, K, 2K, ...
};

class HealthMonitor : public Callback {
public:
    // `gpt` (not owned; may be null) adds the per-block numbers; it must be the model fit trains.
    explicit HealthMonitor(HealthOptions options = {}, Gpt* gpt = nullptr);
    void on_step_begin(FitRun& run, std::int64_t step) override;
    void on_step_end(FitRun& run, const StepLogs& logs) override;
    // The newest measurement (its step says which); empty before the first.
    const std::optional<HealthStats>& latest() const { return latest_; }

private:
    HealthOptions opt_;
    Gpt* gpt_;
    bool measuring_ = false;
    std::vector<Tensor> before_;  // the weights before the measured step's update
    std::optional<HealthStats> latest_;
};

// The parameter part: `before` holds each parameter's values before the update, the parameters
// their values after it and their gradients.
std::vector<ParameterHealth> parameter_health(
    const std::vector<std::pair<std::string, Tensor>>& parameters,
    const std::vector<Tensor>& before);
// weights [B,H,Tq,Tk] (rows summing to 1) -> per head the mean over batch and queries of
// −Σ_k p·ln p (0·ln 0 = 0): ln(t+1) for a query spreading evenly over t+1 keys, 0 for one key.
std::vector<double> attention_entropy(const Tensor& weights);
// The GPT part, from one recorded forward pass; fills stats.layers and stats.logit_max.
void activation_health(const GptActivations& pass, HealthStats& stats);

}  // namespace tapegrad
