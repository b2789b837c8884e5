#include "train/metrics.hpp"

#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace tapegrad {

std::string to_json_line(const MetricsRow& row) {
    nlohmann::ordered_json j;
    j["step"] = row.step;
    j["loss"] = row.loss;  // NaN becomes null: JSON has no NaN
    if (row.val_loss) j["val_loss"] = *row.val_loss;
    if (row.train_loss) j["train_loss"] = *row.train_loss;
    if (row.val_tokens) j["val_tokens"] = *row.val_tokens;
    j["lr"] = row.lr;
    j["grad_norm"] = row.grad_norm;
    j["tokens_per_s"] = row.tokens_per_s;
    j["elapsed"] = row.elapsed;
    if (row.health) j["health"] = nlohmann::ordered_json::parse(health_json(*row.health));
    return j.dump();
}

void MetricsLog::append(const MetricsRow& row) const {
    if (path_.empty()) return;
    std::ofstream out(path_, std::ios::app);
    if (!out) throw IoError(fmt::format("metrics: cannot open '{}' for appending", path_));
    out << to_json_line(row) << '\n';
    if (!out) throw IoError(fmt::format("metrics: write to '{}' failed", path_));
}

}  // namespace tapegrad
