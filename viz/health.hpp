// The training-health numbers of one step: train/health.hpp measures them, the metrics log
// (train/metrics.hpp) writes them as the "health" object of that step's JSON line, and the HTML
// report (viz/report.hpp) charts them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tapegrad {

struct ParameterHealth {
    std::string name;           // "h.0.attn.c_attn.weight"
    double grad_norm = 0.0;     // ‖g‖ of this step's gradient (before clipping)
    double weight_norm = 0.0;   // ‖w‖ before the update
    double update_ratio = 0.0;  // ‖Δw‖/‖w‖ of this step's update (0 when ‖w‖ = 0)
};

// One block's forward pass on the step's batch. A GPT gives all of it; other models what they
// expose (the toy tasks' encoder: the attention entropy alone).
struct LayerHealth {
    std::optional<double> mean, std;  // of the residual stream after the block, over all entries
    std::optional<double> gelu_below_minus3;  // share of the MLP's GELU inputs below −3 (flat tail)
    std::vector<double> attention_entropy;    // per head: −Σ p·ln p of a query's weights, mean
};

struct HealthStats {
    std::int64_t step = 0;
    std::vector<ParameterHealth> parameters;  // registration order
    std::vector<LayerHealth> layers;          // empty unless the model exposes its blocks
    std::optional<double> logit_max;          // largest |logit| of the batch (GPT only)
};

// The "health" object: {"params":{"<name>":{"grad_norm":..,"weight_norm":..,"update_ratio":..}},
// "layers":[{"act_mean":..,"act_std":..,"gelu_below_-3":..,"attn_entropy":[..]}],"logit_max":..}
// (the step is the line's; what was not measured is left out). parse_health_json reads it back;
// ValueError on a malformed object.
std::string health_json(const HealthStats& stats);
HealthStats parse_health_json(std::string_view json_text, std::int64_t step);

}  // namespace tapegrad
