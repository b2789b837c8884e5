// When a loop is worth splitting across threads, and the loops that split only then. Below
// parallel_threshold elements the OpenMP fork costs more than it saves; and a loop that is not
// split must not enter a parallel region at all: libgomp builds a team even for
// `#pragma omp parallel for if (false)` (about 1 µs a region on our machines, against 5 ns for the
// loop of a 64-element op), which a toy model pays on every op and a cached token about 50 times.
#pragma once

#include <array>
#include <cstdint>

namespace tapegrad::kernels {

inline constexpr std::int64_t parallel_threshold = 1 << 15;

// True when more than one thread may run and we are not inside a parallel region already (a nested
// region would be a team of one). Defined in the .cpp, so installed headers need no <omp.h>.
bool threads_available();

// True when `work` elements pass the threshold and threads_available().
bool worth_threads(std::int64_t work);

// This thread's number in the innermost team, and that team's size (omp_get_thread_num and
// omp_get_num_threads, for headers without <omp.h>).
int team_thread();
int team_size();

// f(t, threads) on every thread t of a new team of `threads` when `parallel`, else f(0, 1) in this
// thread: a region only when it splits work. f must split by the numbers it is given, never by
// omp_get_thread_num(): this thread may already be one of a team (a sharded step's,
// train/sharded_step.hpp), whose numbers would leave part of the work undone.
template <class F>
void on_team_if(bool parallel, F&& f) {
    if (parallel) {
#pragma omp parallel
        f(team_thread(), team_size());
        return;
    }
    f(0, 1);
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

// Sums come out the same whatever the number of threads (the thread tuner changes it during a
// run, thread_tuner.hpp): [0, n) is cut into sum_pieces pieces by n alone, each piece is summed in
// loop order, and the pieces are added in order.
inline constexpr std::int64_t sum_pieces = 16;

template <class SumPiece>
double sum_in_pieces(std::int64_t n, std::int64_t work, SumPiece&& sum_piece) {
    std::array<double, sum_pieces> piece{};
    parallel_for(sum_pieces, work, [&](std::int64_t p) {
        piece[static_cast<std::size_t>(p)] =
            sum_piece(n * p / sum_pieces, n * (p + 1) / sum_pieces);
    });
    double total = 0.0;
    for (const double s : piece) total += s;
    return total;
}

// Σ term(i) for i in [0, n) in double, across the threads when `work` (elements touched) is worth
// it: for sums over rows.
template <class F>
double parallel_sum(std::int64_t n, std::int64_t work, F&& term) {
    return sum_in_pieces(n, work, [&](std::int64_t lo, std::int64_t hi) {
        double total = 0.0;
        for (std::int64_t i = lo; i < hi; ++i) total += term(i);
        return total;
    });
}

// The same over n elements, vectorised.
template <class F>
double parallel_sum_simd(std::int64_t n, F&& term) {
    return sum_in_pieces(n, n, [&](std::int64_t lo, std::int64_t hi) {
        double total = 0.0;
#pragma omp simd reduction(+ : total)
        for (std::int64_t i = lo; i < hi; ++i) total += term(i);
        return total;
    });
}

}  // namespace tapegrad::kernels
