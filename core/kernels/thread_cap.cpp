#include "core/kernels/thread_cap.hpp"

#include <omp.h>

#include <algorithm>

namespace tapegrad::kernels {

ThreadCap::ThreadCap(int threads) : previous_(omp_get_max_threads()) {
    omp_set_num_threads(std::clamp(threads, 1, previous_));
}

ThreadCap::~ThreadCap() { omp_set_num_threads(previous_); }

}  // namespace tapegrad::kernels
