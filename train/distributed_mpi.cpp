// train/distributed_comm.hpp on MPI (TAPEGRAD_MPI on). The only file that includes mpi.h.
#include <fmt/format.h>
#include <mpi.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <thread>

#include "core/error.hpp"
#include "train/distributed_comm.hpp"

namespace tapegrad::detail::comm {
namespace {

bool started_here = false;              // init() called MPI_Init_thread, so finalize() ends it
MPI_Comm failure_comm = MPI_COMM_NULL;  // a copy of the world for all_failed_within only

bool active() {
    int initialised = 0, finalised = 0;
    MPI_Initialized(&initialised);
    MPI_Finalized(&finalised);
    return initialised && !finalised;
}

MPI_Datatype mpi_type(DType dtype) {
    switch (dtype) {
        case DType::f32:
            return MPI_FLOAT;
        case DType::f64:
            return MPI_DOUBLE;
        case DType::i32:
            return MPI_INT32_T;
        case DType::b8:
            return MPI_UINT8_T;
        case DType::bf16:
            return MPI_UINT16_T;
    }
    return MPI_BYTE;
}

int mpi_count(std::int64_t count) {
    if (count < 0 || count > INT_MAX)
        throw ValueError(
            fmt::format("data-parallel: {} elements exceed one MPI call's {}", count, INT_MAX));
    return static_cast<int>(count);
}

}  // namespace

bool built_with_mpi() { return true; }

bool launched_by_mpi() {
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
        if (std::getenv(name)) return true;
    return false;
}

void init(int& argc, char**& argv) {
    if (!launched_by_mpi() || active()) return;
    int provided = 0;  // only the main thread calls MPI; OpenMP threads never do
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_dup(MPI_COMM_WORLD, &failure_comm);
    started_here = true;
}

void finalize() {
    if (!started_here || !active()) return;
    MPI_Comm_free(&failure_comm);
    MPI_Finalize();
    started_here = false;
}

int rank() {
    int r = 0;
    if (active()) MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int size() {
    int n = 1;
    if (active()) MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

void allreduce_sum(void* data, std::int64_t count, DType dtype) {
    if (size() == 1) return;
    MPI_Allreduce(MPI_IN_PLACE, data, mpi_count(count), mpi_type(dtype), MPI_SUM, MPI_COMM_WORLD);
}

double allreduce_max(double value) {
    if (size() > 1) MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return value;
}

void allreduce_min_max(std::uint64_t value, std::uint64_t& min, std::uint64_t& max) {
    min = max = value;
    if (size() == 1) return;
    MPI_Allreduce(MPI_IN_PLACE, &min, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &max, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
}

void broadcast(void* data, std::size_t bytes) {
    if (size() == 1) return;
    MPI_Bcast(data, mpi_count(static_cast<std::int64_t>(bytes)), MPI_BYTE, 0, MPI_COMM_WORLD);
}

bool all_failed_within(double seconds) {
    if (size() == 1 || failure_comm == MPI_COMM_NULL) return true;
    MPI_Request request;
    MPI_Ibarrier(failure_comm, &request);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    for (int done = 0;; std::this_thread::sleep_for(std::chrono::milliseconds(10))) {
        MPI_Test(&request, &done, MPI_STATUS_IGNORE);
        if (done) return true;
        if (std::chrono::steady_clock::now() > deadline) return false;
    }
}

void abort_all(int status) {
    if (active()) MPI_Abort(MPI_COMM_WORLD, status);
    std::exit(status);
}

}  // namespace tapegrad::detail::comm
