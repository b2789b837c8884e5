// The few MPI calls data-parallel training needs, behind plain C++ (no mpi.h here):
// train/distributed_mpi.cpp implements them with MPI, train/distributed_serial.cpp for one process
// (CMake option TAPEGRAD_MPI picks one). Until MPI is initialised, or without it, this process is
// rank 0 of 1 and every collective leaves its input as it is. Collectives run on the world's ranks
// and must be called by all of them in the same order.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.hpp"

namespace tapegrad::detail::comm {

bool built_with_mpi();
// True when an MPI launcher (mpirun, srun with PMI/PMIx) started this process.
bool launched_by_mpi();
void init(int& argc, char**& argv);  // MPI_Init_thread (funneled) when launched by MPI
void finalize();                     // MPI_Finalize when init started MPI
int rank();
int size();

void allreduce_sum(void* data, std::int64_t count, DType dtype);  // in place, every rank
double allreduce_max(double value);
void allreduce_min_max(std::uint64_t value, std::uint64_t& min, std::uint64_t& max);
void broadcast(void* data, std::size_t bytes);  // rank 0's bytes to every rank
// After an error: true when every rank reports one within `seconds` (on a channel of its own, so a
// rank waiting in a training collective cannot match it).
bool all_failed_within(double seconds);
[[noreturn]] void abort_all(int status);  // ends every rank of the job

}  // namespace tapegrad::detail::comm
