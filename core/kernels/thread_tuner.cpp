#include "core/kernels/thread_tuner.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace tapegrad::kernels {

ThreadTuner::ThreadTuner(int most) : ThreadTuner(most, Options{}) {}

ThreadTuner::ThreadTuner(int most, Options options)
    : options_(options),
      most_(std::max(most, 1)),
      threads_(most_),
      untimed_(options.warmup),
      unsettled_(options.warmup_seconds) {
    times_.reserve(static_cast<std::size_t>(std::max(options.timed, 1)));  // no allocation in steps
}

void ThreadTuner::start_trial() {
    phase_ = Phase::trial;
    time_next(most_);
}

void ThreadTuner::time_next(int threads) {
    threads_ = threads;
    untimed_ = options_.skip;
    unsettled_ = options_.skip_seconds;
}

int ThreadTuner::step_took(double seconds) {
    if (most_ == 1) return 1;
    if (phase_ == Phase::run) {
        if (--run_left_ <= 0) start_trial();
        return threads_;
    }
    if (untimed_ > 0 || unsettled_ > 0.0) {
        --untimed_;
        unsettled_ -= seconds;
        return threads_;
    }
    times_.push_back(seconds);
    // One thread far slower than all of them (a large model on a quiet machine) twice running: no
    // need to time the third step, which costs as much again. Twice, so that one slow step (a
    // validation pass) does not decide.
    const double slow = options_.hopeless * most_median_;
    const bool hopeless =
        threads_ == 1 && times_.size() >= 2 && times_.back() > slow && times_.end()[-2] > slow;
    if (static_cast<int>(times_.size()) < options_.timed && !hopeless) return threads_;
    const auto middle = times_.begin() + static_cast<std::ptrdiff_t>(times_.size() / 2);
    std::nth_element(times_.begin(), middle, times_.end());
    const double median = *middle;
    times_.clear();
    if (threads_ == most_) {  // now one thread
        most_median_ = median;
        time_next(1);
        return threads_;
    }
    const int winner = median < most_median_ ? 1 : most_;
    const int run =
        winner == last_.chosen ? std::min(2 * last_.run, options_.longest_run) : options_.first_run;
    last_ = {.every = most_median_, .one = median, .chosen = winner, .run = run};
    threads_ = winner;
    run_left_ = run;
    ++trials_;
    phase_ = Phase::run;
    return threads_;
}

namespace {

bool tuner_setting(const char* value) {
    const char* setting = std::getenv("TAPEGRAD_THREAD_TUNER");
    return setting != nullptr && std::strcmp(setting, value) == 0;
}

bool tuner_wanted() {
    return !tuner_setting("0") && std::getenv("OMP_NUM_THREADS") == nullptr &&
           omp_get_max_threads() > 1;
}

struct ProcessTuner {
    bool on = tuner_wanted();
    bool verbose = tuner_setting("verbose");
    int most = omp_get_max_threads();
    ThreadTuner tuner{most};
    std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
    std::mutex mutex;
};

}  // namespace

void training_step_finished() {
    static ProcessTuner process;
    if (!process.on) return;
    const std::lock_guard lock(process.mutex);
    const auto now = std::chrono::steady_clock::now();
    const int before = process.tuner.threads(), trials_before = process.tuner.trials();
    const int next =
        process.tuner.step_took(std::chrono::duration<double>(now - process.last).count());
    if (next != before) omp_set_num_threads(next);  // BLAS follows it (gemm.cpp)
    if (process.verbose && process.tuner.trials() != trials_before) {
        const ThreadTuner::Trial& t = process.tuner.last_trial();
        fmt::print(stderr,
                   "thread tuner: {:.2f} ms/step on {} threads, {:.2f} on one: {} for {} steps\n",
                   1e3 * t.every, process.most, 1e3 * t.one, t.chosen, t.run);
    }
    process.last = std::chrono::steady_clock::now();
}

}  // namespace tapegrad::kernels
