// Training steps on every thread or on one, whichever the clock says is faster here and now.
// Idle OpenMP threads spin for a while before they sleep (gemm.cpp), which on a quiet machine
// saves the 45 µs it takes a sleeping thread to wake for each parallel region; but when another
// process wants the cores, a spinning thread takes a core from its partner and two threads run a
// step 2-5x slower than one (docs/benchmarks.md). So the tuner times a few steps with each count,
// keeps the faster, and tries both again later, less often while the same count keeps winning.
// Results do not depend on the count: sums run in a fixed order (parallel.hpp).
#pragma once

#include <vector>

namespace tapegrad::kernels {

class ThreadTuner {
public:
    struct Options {
        // Steps not timed at the start, and after each change of count, as steps and as seconds
        // (both must pass): a core that sat idle runs slowly for a while when work comes back
        // (the tiny GPT's two-thread steps took 11 ms, not 8, for its first 10-15 steps).
        int warmup = 15;
        double warmup_seconds = 0.2;
        int skip = 2;
        double skip_seconds = 0.05;
        int timed = 5;           // steps timed for each count; their median counts
        int first_run = 50;      // steps on the faster count before the next trial
        int longest_run = 3200;  // the run doubles while the same count wins, up to this
        double hopeless = 1.5;   // two steps on one thread this much slower end its trial
    };

    // Chooses between `most` threads and one; starts with `most`.
    explicit ThreadTuner(int most);
    ThreadTuner(int most, Options options);

    // The thread count for the next step, given how long the step that just ended took.
    int step_took(double seconds);
    int threads() const { return threads_; }

    // The medians of the last finished trial (seconds per step) and the count it chose.
    struct Trial {
        double every = 0.0, one = 0.0;
        int chosen = 0, run = 0;  // steps before the next trial
    };
    int trials() const { return trials_; }
    const Trial& last_trial() const { return last_; }

private:
    enum class Phase { trial, run };
    void start_trial();
    // `threads` from the next step, its first steps (options_.skip and skip_seconds) untimed.
    void time_next(int threads);

    Options options_;
    int most_;
    int threads_;
    Phase phase_ = Phase::trial;
    int untimed_;                 // steps still to let pass before timing,
    double unsettled_;            // and seconds
    std::vector<double> times_;   // of the count on trial
    double most_median_ = 0.0;    // of `most` threads in this trial
    int run_left_ = 0;            // steps left in the run of last_.chosen threads
    int trials_ = 0;
    Trial last_;  // chosen 0 before the first trial
};

// Tells the process's tuner that a training step ended (Optimizer::step calls it) and sets the
// OpenMP and BLAS thread counts of the calling thread for the next step. Off when the user chose
// the count (OMP_NUM_THREADS), with one thread, or with TAPEGRAD_THREAD_TUNER=0;
// TAPEGRAD_THREAD_TUNER=verbose prints each trial's times and choice to stderr.
void training_step_finished();

}  // namespace tapegrad::kernels
