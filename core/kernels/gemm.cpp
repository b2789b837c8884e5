#include "core/kernels/gemm.hpp"

#include <cblas.h>
#include <omp.h>
#include <unistd.h>  // execv

#include <algorithm>
#include <cstdlib>

#include "core/kernels/dnnl_gemm.hpp"
#include "core/kernels/parallel.hpp"
#include "core/precision.hpp"

namespace tapegrad::kernels {
namespace {

void call(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k, float alpha, const float* a,
          blasint lda, const float* b, blasint ldb, float beta, float* c, blasint ldc) {
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void call(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k, double alpha,
          const double* a, blasint lda, const double* b, blasint ldb, double beta, double* c, blasint ldc) {
    cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void call_gemv(CBLAS_TRANSPOSE t, blasint rows, blasint cols, float alpha, const float* a, blasint lda,
               const float* x, blasint incx, float* y, blasint incy) {
    cblas_sgemv(CblasRowMajor, t, rows, cols, alpha, a, lda, x, incx, 1.0f, y, incy);
}

void call_gemv(CBLAS_TRANSPOSE t, blasint rows, blasint cols, double alpha, const double* a, blasint lda,
               const double* x, blasint incx, double* y, blasint incy) {
    cblas_dgemv(CblasRowMajor, t, rows, cols, alpha, a, lda, x, incx, 1.0, y, incy);
}

// A size or leading dimension for BLAS, which rejects 0 even where nothing is read.
blasint blas_dim(std::int64_t v) { return static_cast<blasint>(std::max<std::int64_t>(v, 1)); }

// C [m,n] = beta·C, where beta = 0 writes zeros: C's old contents may be uninitialised memory.
template <class T>
void scale_by_beta(std::int64_t m, std::int64_t n, T beta, T* c, std::int64_t ldc) {
    for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
}

// True when there is nothing to multiply: no output, or k = 0 (BLAS rejects it with lda < 1), where
// the product is empty and C = beta·C.
template <class T>
bool empty_product(std::int64_t m, std::int64_t n, std::int64_t k, T beta, T* c, std::int64_t ldc) {
    if (m != 0 && n != 0 && k == 0) scale_by_beta(m, n, beta, c, ldc);
    return m == 0 || n == 0 || k == 0;
}

// A product with one row (m = 1) or one column (n = 1) is a matrix-vector product: gemm would
// pack the whole matrix for a single row (generation with a KV cache feeds one token a step:
// medium's step 7.2 -> 4.3 ms, bench/generate_bench). C = beta·C first, then gemv adds into it.
// False when neither is 1.
template <class T>
bool try_gemv(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
              std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
    if (m != 1 && n != 1) return false;
    scale_by_beta(m, n, beta, c, ldc);
    if (m == 1)  // c[j] = Σ_p a[p]·op(B)[p,j]: B [k,n] as Bᵀ·a, or B stored [n,k] as B·a
        call_gemv(tb ? CblasNoTrans : CblasTrans, blas_dim(tb ? n : k), blas_dim(tb ? k : n), alpha, b,
                  blas_dim(ldb), a, blas_dim(ta ? lda : 1), c, 1);
    else  // c[i] = Σ_p op(A)[i,p]·b[p]: A [m,k] as A·b, or A stored [k,m] as Aᵀ·b
        call_gemv(ta ? CblasTrans : CblasNoTrans, blas_dim(ta ? k : m), blas_dim(ta ? m : k), alpha, a,
                  blas_dim(lda), b, blas_dim(tb ? 1 : ldb), c, blas_dim(ldc));
    return true;
}

// OpenBLAS's pthread build keeps its own threads, which spin against our OpenMP threads on 2
// cores: the tiny GPT step took 306 ms with 2 BLAS threads and 19 ms with 1 (bench/gpt_bench,
// 2026-11-26). With that build, products below this many multiply-adds run on one BLAS thread.
// OpenBLAS's OpenMP build shares our OpenMP pool (and runs single-threaded inside our parallel
// regions), so there every product may use every thread.
constexpr std::int64_t threaded_gemm_work = std::int64_t{1} << 30;

bool blas_shares_openmp_pool() {
    static const bool shares = openblas_get_parallel() == 2;  // 0 sequential, 1 pthreads, 2 OpenMP
    return shares;
}

int max_blas_threads() {
    static const int threads = openblas_get_num_threads();
    return threads;
}

void use_blas_threads(std::int64_t work) {
    if (blas_shares_openmp_pool()) return;
    static thread_local int current = -1;
    // read before the first change below; the thread tuner may allow fewer for a while
    const int most = std::min(max_blas_threads(), omp_get_max_threads());
    const int wanted = work >= threaded_gemm_work ? most : 1;
    if (wanted != current) {
        openblas_set_num_threads(wanted);
        current = wanted;
    }
}

// Below this many multiply-adds a product splits poorly across threads (a [128,32]·[32,128] head
// product is 2^19), so many of them run one per thread instead.
constexpr std::int64_t split_gemm_work = std::int64_t{1} << 23;

// Programs linked with tapegrad let an idle OpenMP thread spin 300 pauses (7-14 µs) before it
// sleeps (GOMP_SPINCOUNT=300) unless the user set OMP_WAIT_POLICY or GOMP_SPINCOUNT. libgomp's
// default, spinning up to 300,000 pauses, made GPT steps 2-5x slower on our 2-vCPU virtual
// machines whenever anything else ran (tiny 60 ms against 13); sleeping at once costs about 45 µs
// to wake for each parallel region there (toy step 4.2 ms against 3.6 with 300 pauses, on a quiet
// machine), and 300 pauses cost the test suite under ctest -j2 nothing measurable (31.6 s against
// 29.9 sleeping at once, 45 s at 1,000 pauses; docs/design.md). Training under load is protected by
// the thread tuner, which then runs steps on one thread. libgomp reads the setting once, before
// main, from the environment the process started with, so the process re-executes itself once
// with the variable set (glibc passes argv to library constructors). If that fails, it runs on with
// libgomp's default.
[[gnu::constructor]] void start_with_short_openmp_spin(int, char** argv, char**) {
    if (argv == nullptr || std::getenv("OMP_WAIT_POLICY") != nullptr ||
        std::getenv("GOMP_SPINCOUNT") != nullptr)
        return;
    if (setenv("GOMP_SPINCOUNT", "300", 0) != 0) return;
    execv("/proc/self/exe", argv);
    unsetenv("GOMP_SPINCOUNT");  // exec failed: do not tell child processes otherwise
}

}  // namespace

void run_products(std::int64_t count, std::int64_t work_each, void (*product)(void*, std::int64_t),
                  void* context) {
    const bool side_by_side =
        count > 1 && work_each < split_gemm_work && blas_shares_openmp_pool() && threads_available();
    if (!side_by_side) {  // not `omp parallel if (false)`: BLAS would nest a team in that team of one,
        for (std::int64_t i = 0; i < count; ++i) product(context, i);  // which libgomp makes new
        return;                                                        // threads for, every time
    }
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < count; ++i) product(context, i);
}

template <class T>
void Gemm<T>::run(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
                  const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
    if (empty_product(m, n, k, beta, c, ldc)) return;
    if constexpr (std::is_same_v<T, float>) {  // bf16 mixed precision: float32 products only
        if (precision() == Precision::bf16) {
            DnnlGemm::run_bf16(transpose_a, transpose_b, m, n, k, alpha, {.f32 = a}, lda,
                               {.f32 = b}, ldb, beta, c, ldc);
            return;
        }
    }
    use_blas_threads(m * n * k);
    if (try_gemv(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) return;
    call(transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
         static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
         blas_dim(lda), b, blas_dim(ldb), beta, c, blas_dim(ldc));
}

void gemm_bf16(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k,
               float alpha, Bf16Operand a, std::int64_t lda, Bf16Operand b, std::int64_t ldb,
               float beta, float* c, std::int64_t ldc) {
    if (empty_product(m, n, k, beta, c, ldc)) return;
    DnnlGemm::run_bf16(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template struct Gemm<float>;
template struct Gemm<double>;

const char* blas_config() { return openblas_get_config(); }
int blas_threads() { return max_blas_threads(); }

}  // namespace tapegrad::kernels
