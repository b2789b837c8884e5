// train/distributed_comm.hpp without MPI (TAPEGRAD_MPI off): one process, rank 0 of 1.
#include <cstdlib>

#include "train/distributed_comm.hpp"

namespace tapegrad::detail::comm {

bool built_with_mpi() { return false; }
bool launched_by_mpi() { return false; }
void init(int& /*argc*/, char**& /*argv*/) {}
void finalize() {}
int rank() { return 0; }
int size() { return 1; }
void allreduce_sum(void* /*data*/, std::int64_t /*count*/, DType /*dtype*/) {}
double allreduce_max(double value) { return value; }
void allreduce_min_max(std::uint64_t value, std::uint64_t& min, std::uint64_t& max) {
    min = max = value;
}
void broadcast(void* /*data*/, std::size_t /*bytes*/) {}
bool all_failed_within(double /*seconds*/) { return true; }
void abort_all(int status) { std::exit(status); }

}  // namespace tapegrad::detail::comm
