#include "train/progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <string>

#include <fmt/format.h>

namespace tapegrad {

std::string format_duration(double seconds) {
    const auto s = static_cast<std::int64_t>(seconds + 0.5);
    if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
    if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
    return fmt::format("{}s", s);
}

ProgressBar::ProgressBar(std::int64_t total_steps, bool quiet)
    : total_(total_steps), enabled_(!quiet && isatty(STDERR_FILENO)), start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(std::int64_t step, double loss, double tokens_per_second) {
    if (!enabled_) return;
    constexpr int width = 24;
    const double done = total_ > 0 ? static_cast<double>(step) / static_cast<double>(total_) : 1.0;
    const int filled = static_cast<int>(done * width);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double eta = step > 0 ? elapsed * static_cast<double>(total_ - step) / static_cast<double>(step) : 0.0;
    // "\x1b[K" erases the rest of the line: a shorter frame leaves no tail of the previous one.
    fmt::print(stderr, "\r[{:=<{}}{:<{}}] {}/{} loss {:.4f} {:.0f} tok/s ETA {}\x1b[K", "", filled,
               "", width - filled, step, total_, loss, tokens_per_second, format_duration(eta));
    std::fflush(stderr);
    drawn_ = true;
}

void ProgressBar::finish() {
    if (drawn_) fmt::print(stderr, "\n");
    drawn_ = false;
}

}  // namespace tapegrad
