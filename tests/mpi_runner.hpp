// Launching `tapegrad` under Open MPI's mpirun, for the data-parallel tests. The mpirun cases need
// a build with TAPEGRAD_MPI and mpirun on PATH; without them they say so and return.
#pragma once

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstdlib>
#include <string>

#include "train/distributed.hpp"

namespace tapegrad::test {

inline bool mpi_runnable() {
    if (!mpi_built()) {
        MESSAGE("skipped: tapegrad was built without MPI (CMake option TAPEGRAD_MPI is off)");
        return false;
    }
    if (std::system("command -v mpirun > /dev/null 2>&1") != 0) {
        MESSAGE("skipped: mpirun not found (Debian: apt-get install openmpi-bin libopenmpi-dev)");
        return false;
    }
    return true;
}

// mpirun as root on any machine, one OpenMP thread a rank; `timeout` turns a hang into a failure.
// Under the sanitizers the ranks skip leak checks only: Open MPI leaks inside plugins it unloads
// before exit, which LeakSanitizer cannot name for a suppression (docs/reliability.md).
inline std::string mpirun(int ranks) {
    return fmt::format(
        "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 "
        "ASAN_OPTIONS=\"${{ASAN_OPTIONS:-}}:detect_leaks=0\" "
        "timeout 60 mpirun --allow-run-as-root --oversubscribe -np {} ",
        ranks);
}

}  // namespace tapegrad::test
