#include "core/precision.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "core/kernels/dnnl_gemm.hpp"
#include "core/kernels/gemm.hpp"

namespace tapegrad {
namespace {

// Process-wide, not per thread: products run on OpenMP threads the caller's setting must reach.
std::atomic<Precision> current{Precision::fp32};
std::atomic<bool> forced_fallback{false};

bool fallback_forced_by_environment() {
    const char* v = std::getenv("TAPEGRAD_BF16");
    return v != nullptr && std::strcmp(v, "off") == 0;
}

// Said once per process, however many runs ask for bf16.
void notice_fallback() {
    static std::once_flag once;
    std::call_once(once, [] {
        fmt::print(stderr,
                   "notice: bf16 needs AVX512-BF16 or AMX, which {}; matrix products run "
                   "in fp32\n",
                   forced_fallback || fallback_forced_by_environment()
                       ? "are switched off (TAPEGRAD_BF16=off or force_bf16_fallback)"
                       : "this CPU lacks");
    });
}

}  // namespace

std::string_view precision_name(Precision p) { return p == Precision::bf16 ? "bf16" : "fp32"; }

std::optional<Precision> parse_precision(std::string_view s) {
    if (s == "fp32") return Precision::fp32;
    if (s == "bf16") return Precision::bf16;
    return std::nullopt;
}

bool bf16_available() {
    return !forced_fallback && !fallback_forced_by_environment() &&
           std::strcmp(kernels::dnnl_bf16_isa(), "none") != 0;
}

void force_bf16_fallback(bool on) { forced_fallback = on; }

Precision set_precision(Precision requested) {
    Precision runs = requested;
    if (requested == Precision::bf16 && !bf16_available()) {
        notice_fallback();
        runs = Precision::fp32;
    }
    current = runs;
    return runs;
}

Precision precision() { return current; }

PrecisionScope::PrecisionScope(Precision requested)
    : previous_(precision()), active_(set_precision(requested)) {}

PrecisionScope::~PrecisionScope() { current = previous_; }

std::string system_summary() {
    return fmt::format(
        "ISA {}; BLAS {} ({} threads); oneDNN {}; {} OpenMP threads; "
        "matrix products in {}",
        kernels::dnnl_bf16_isa(), kernels::blas_config(), kernels::blas_threads(),
        kernels::dnnl_version(), omp_get_max_threads(), precision_name(precision()));
}

}  // namespace tapegrad
