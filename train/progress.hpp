// A one-line progress bar on stderr: step, loss, tokens/s, ETA. Silent when stderr is not a
// terminal (logs stay clean) or when asked to be quiet.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace tapegrad {

class ProgressBar {
public:
    ProgressBar(std::int64_t total_steps, bool quiet = false);
    ~ProgressBar();  // ends the line if one was drawn
    bool enabled() const { return enabled_; }
    void update(std::int64_t step, double loss, double tokens_per_second);
    void finish();

private:
    std::int64_t total_;
    bool enabled_;
    bool drawn_ = false;
    std::chrono::steady_clock::time_point start_;
};

// "1h02m", "3m07s", "12s"
std::string format_duration(double seconds);

}  // namespace tapegrad
