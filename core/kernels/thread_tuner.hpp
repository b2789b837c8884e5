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
        int warmup = 2;          // first steps not timed: they allocate what later steps reuse
        int skip = 1;            // steps after a change of count not timed
        int timed = 3;           // steps timed for each count; their median counts
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

private:
    enum class Phase { trial, run };
    void start_trial();

    Options options_;
    int most_;
    int threads_;
    Phase phase_ = Phase::trial;
    int untimed_;                 // steps still to let pass before timing
    std::vector<double> times_;   // of the count on trial
    double most_median_ = 0.0;    // of `most` threads in this trial
    int winner_ = 0;              // of the last trial (0 before the first)
    int run_ = 0, run_left_ = 0;  // length of the current run, and steps left in it
};

// Tells the process's tuner that a training step ended (Optimizer::step calls it) and sets the
// OpenMP and BLAS thread counts of the calling thread for the next step. Off when the user chose
// the count (OMP_NUM_THREADS), with one thread, or with TAPEGRAD_THREAD_TUNER=0.
void training_step_finished();

}  // namespace tapegrad::kernels
