// Training metrics appended as JSON lines, one object per logged step:
// {"step":..,"loss":..,"val_loss":..,"train_loss":..,"val_tokens":..,"lr":..,"grad_norm":..,
//  "tokens_per_s":..,"elapsed":..}; the three val_/train_ keys only on validation steps, and
// "health":{..} (viz/health.hpp) only on the steps a HealthMonitor measured.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "viz/health.hpp"

namespace tapegrad {

struct MetricsRow {
    std::int64_t step = 0;
    double loss = 0.0;
    std::optional<double> val_loss;  // only on validation steps
    std::optional<double> train_loss;         // the mean batch loss since the last validation
    std::optional<std::int64_t> val_tokens;   // tokens the validation covered
    double lr = 0.0;
    double grad_norm = 0.0;
    double tokens_per_s = 0.0;
    double elapsed = 0.0;  // seconds since training started
    std::optional<HealthStats> health;
};

class MetricsLog {
public:
    // Appends to `path` (created if missing); an empty path logs nothing.
    explicit MetricsLog(std::string path) : path_(std::move(path)) {}
    void append(const MetricsRow& row) const;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

std::string to_json_line(const MetricsRow& row);

}  // namespace tapegrad
