#include "core/kernels/parallel.hpp"

#include <omp.h>

namespace tapegrad::kernels {

bool worth_threads(std::int64_t work) {
    return work > parallel_threshold && !omp_in_parallel() && omp_get_max_threads() > 1;
}

}  // namespace tapegrad::kernels
