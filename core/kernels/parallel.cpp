#include "core/kernels/parallel.hpp"

#include <omp.h>

namespace tapegrad::kernels {

bool threads_available() { return !omp_in_parallel() && omp_get_max_threads() > 1; }

int team_thread() { return omp_get_thread_num(); }
int team_size() { return omp_get_num_threads(); }

bool worth_threads(std::int64_t work) { return work > parallel_threshold && threads_available(); }

}  // namespace tapegrad::kernels
