// When a loop is worth splitting across threads, and the loops that split only then. Below
// parallel_threshold elements the OpenMP fork costs more than it saves; and a loop that is not
// split must not enter a parallel region at all: libgomp builds a team even for
// `#pragma omp parallel for if (false)` (about 1 µs a region on our machines, against 5 ns for the
// loop of a 64-element op), which a toy model pays on every op and a cached token about 50 times.
#pragma once

#include <cstdint>

namespace tapegrad::kernels {

inline constexpr std::int64_t parallel_threshold = 1 << 15;

// True when more than one thread may run and we are not inside a parallel region already (a nested
// region would be a team of one). Defined in the .cpp, so installed headers need no <omp.h>.
bool threads_available();

// True when `work` elements pass the threshold and threads_available().
bool worth_threads(std::int64_t work);

// f() on every thread of a new team when `parallel`, else once in this thread, where the `omp for`
// loops inside f run whole: a region only when it splits work.
template <class F>
void on_team_if(bool parallel, F&& f) {
    if (parallel) {
#pragma omp parallel
        f();
        return;
    }
    f();
}

// body(i) for i in [0, n): across the threads when `work` (elements touched) is worth it, else
// in this thread. For loops over rows; the rows' own loops vectorise.
template <class F>
void parallel_for(std::int64_t n, std::int64_t work, F&& body) {
    if (worth_threads(work)) {
#pragma omp parallel for
        for (std::int64_t i = 0; i < n; ++i) body(i);
        return;
    }
    for (std::int64_t i = 0; i < n; ++i) body(i);
}

// The same for an elementwise body over n elements, vectorised either way.
template <class F>
void parallel_for_simd(std::int64_t n, F&& body) {
    if (worth_threads(n)) {
#pragma omp parallel for simd
        for (std::int64_t i = 0; i < n; ++i) body(i);
        return;
    }
#pragma omp simd
    for (std::int64_t i = 0; i < n; ++i) body(i);
}

// Σ term(i) for i in [0, n) in double, split across the threads as parallel_for splits: for sums
// over rows. The order of a sum on one thread is the loop's, so a small input sums the same way
// every time.
template <class F>
double parallel_sum(std::int64_t n, std::int64_t work, F&& term) {
    double total = 0.0;
    if (worth_threads(work)) {
#pragma omp parallel for reduction(+ : total)
        for (std::int64_t i = 0; i < n; ++i) total += term(i);
        return total;
    }
    for (std::int64_t i = 0; i < n; ++i) total += term(i);
    return total;
}

// The same over n elements, vectorised either way.
template <class F>
double parallel_sum_simd(std::int64_t n, F&& term) {
    double total = 0.0;
    if (worth_threads(n)) {
#pragma omp parallel for simd reduction(+ : total)
        for (std::int64_t i = 0; i < n; ++i) total += term(i);
        return total;
    }
#pragma omp simd reduction(+ : total)
    for (std::int64_t i = 0; i < n; ++i) total += term(i);
    return total;
}

}  // namespace tapegrad::kernels
