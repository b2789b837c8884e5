#include "viz/health.hpp"

#include <fmt/format.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace tapegrad {
namespace {

// JSON has no NaN: the writer turns it into null, the reader back into NaN.
double number(const nlohmann::ordered_json& v) {
    return v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>();
}

std::optional<double> optional_number(const nlohmann::ordered_json& object, const char* key) {
    if (!object.contains(key)) return std::nullopt;
    return number(object.at(key));
}

std::vector<double> numbers(const nlohmann::ordered_json& list) {
    std::vector<double> out;
    for (const auto& v : list) out.push_back(number(v));
    return out;
}

}  // namespace

std::string health_json(const HealthStats& stats) {
    nlohmann::ordered_json params = nlohmann::ordered_json::object();
    for (const ParameterHealth& p : stats.parameters)
        params[p.name] = {{"grad_norm", p.grad_norm},
                          {"weight_norm", p.weight_norm},
                          {"update_ratio", p.update_ratio}};
    nlohmann::ordered_json j{{"params", params}};
    if (!stats.layers.empty()) {
        nlohmann::ordered_json layers = nlohmann::ordered_json::array();
        for (const LayerHealth& l : stats.layers) {
            nlohmann::ordered_json layer = nlohmann::ordered_json::object();
            if (l.mean) layer["act_mean"] = *l.mean;
            if (l.std) layer["act_std"] = *l.std;
            if (l.gelu_below_minus3) layer["gelu_below_-3"] = *l.gelu_below_minus3;
            layer["attn_entropy"] = l.attention_entropy;
            layers.push_back(layer);
        }
        j["layers"] = layers;
    }
    if (stats.logit_max) j["logit_max"] = *stats.logit_max;
    return j.dump();
}

HealthStats parse_health_json(std::string_view json_text, std::int64_t step) {
    HealthStats stats{.step = step};
    try {
        const nlohmann::ordered_json j = nlohmann::ordered_json::parse(json_text);
        for (const auto& [name, p] : j.at("params").items())
            stats.parameters.push_back({.name = name,
                                        .grad_norm = number(p.at("grad_norm")),
                                        .weight_norm = number(p.at("weight_norm")),
                                        .update_ratio = number(p.at("update_ratio"))});
        if (j.contains("layers"))
            for (const auto& l : j["layers"])
                stats.layers.push_back({.mean = optional_number(l, "act_mean"),
                                        .std = optional_number(l, "act_std"),
                                        .gelu_below_minus3 = optional_number(l, "gelu_below_-3"),
                                        .attention_entropy = numbers(l.at("attn_entropy"))});
        if (j.contains("logit_max")) stats.logit_max = number(j["logit_max"]);
    } catch (const nlohmann::json::exception& e) {
        throw ValueError(
            fmt::format("health: step {}: malformed health object ({})", step, e.what()));
    }
    return stats;
}

}  // namespace tapegrad
