#include "core/kernels/dnnl_gemm.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <compare>
#include <map>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "core/error.hpp"
#include "core/half.hpp"

namespace tapegrad::kernels {
namespace {

using dnnl::memory;

dnnl::engine& cpu_engine() {
    static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    return engine;
}

// What a primitive is made for: the product's shape and layout and its alpha and beta.
struct Key {
    DnnlType type;
    bool transpose_a, transpose_b;
    std::int64_t m, n, k, lda, ldb, ldc;
    float alpha, beta;
    auto operator<=>(const Key&) const = default;
};

struct Primitive {
    dnnl::matmul matmul;
    memory::desc a, b, c, scratchpad;
};

std::atomic<std::int64_t> created{0};

// A row-major [rows, cols] matrix with leading dimension ld, or its transpose when `transposed`.
memory::desc matrix(memory::data_type type, std::int64_t rows, std::int64_t cols, std::int64_t ld,
                    bool transposed) {
    return transposed ? memory::desc({rows, cols}, type, {1, ld})
                      : memory::desc({rows, cols}, type, {ld, 1});
}

// op(X) [rows, cols] as matmul's errors show it: the stored shape, ᵀ when transposed.
std::string stored_shape(std::int64_t rows, std::int64_t cols, bool transposed) {
    return transposed ? fmt::format("[{},{}]ᵀ", cols, rows) : fmt::format("[{},{}]", rows, cols);
}

std::shared_ptr<const Primitive> make_primitive(const Key& key) {
    try {
        const auto type =
            key.type == DnnlType::bf16 ? memory::data_type::bf16 : memory::data_type::f32;
        const memory::desc a = matrix(type, key.m, key.k, key.lda, key.transpose_a);
        const memory::desc b = matrix(type, key.k, key.n, key.ldb, key.transpose_b);
        const memory::desc c = matrix(memory::data_type::f32, key.m, key.n, key.ldc, false);
        dnnl::primitive_attr attr;
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // one per call: see run()
        if (key.alpha != 1.0f) attr.set_output_scales(0, {key.alpha});
        if (key.beta != 0.0f) {
            dnnl::post_ops sum;
            sum.append_sum(key.beta);
            attr.set_post_ops(sum);
        }
        const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, cpu_engine());
        ++created;
        return std::make_shared<const Primitive>(
            Primitive{dnnl::matmul(pd), a, b, c, pd.scratchpad_desc()});
    } catch (const dnnl::error& e) {  // bf16 on a CPU without a bf16 kernel, bad strides
        throw ValueError(
            fmt::format("matmul (oneDNN {}): {} @ {}: oneDNN cannot make this product ({})",
                        key.type == DnnlType::bf16 ? "bf16" : "f32",
                        stored_shape(key.m, key.k, key.transpose_a),
                        stored_shape(key.k, key.n, key.transpose_b), e.what()));
    }
}

// Generation with a KV cache meets a new shape every token: past this many, start over.
constexpr std::size_t max_cached = 4096;

std::shared_ptr<const Primitive> primitive_for(const Key& key) {
    static std::mutex mutex;
    static std::map<Key, std::shared_ptr<const Primitive>> cache;
    const std::lock_guard lock(mutex);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    if (cache.size() >= max_cached) cache.clear();
    return cache.emplace(key, make_primitive(key)).first->second;
}

// The stored [rows, cols] matrix (leading dimension ld) rounded to bf16, packed with ld = cols.
const std::uint16_t* to_bf16(const float* x, std::int64_t rows, std::int64_t cols, std::int64_t ld,
                             std::vector<std::uint16_t>& buffer) {
    buffer.resize(static_cast<std::size_t>(rows * cols));
    for (std::int64_t r = 0; r < rows; ++r)
        floats_to_bf16(x + r * ld, static_cast<std::size_t>(cols), buffer.data() + r * cols);
    return buffer.data();
}

// The operand as bf16: the copy it comes with, or its float32 values rounded into `buffer` (then
// packed, and ld becomes its column count). Stored [rows, cols]: op(X) transposed.
const std::uint16_t* as_bf16(Bf16Operand x, std::int64_t rows, std::int64_t cols, std::int64_t& ld,
                             std::vector<std::uint16_t>& buffer) {
    if (x.bf16 != nullptr) return x.bf16;
    const std::uint16_t* packed = to_bf16(x.f32, rows, cols, ld, buffer);
    ld = cols;
    return packed;
}

// Products may run side by side on OpenMP threads (run_products): each call has its own bf16
// buffers and scratchpad, each thread its stream, and oneDNN runs single-threaded inside our
// parallel regions.
void execute(DnnlType type, bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n,
             std::int64_t k, float alpha, const void* pa, std::int64_t lda, const void* pb,
             std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
    thread_local dnnl::stream stream(cpu_engine());
    const auto p =
        primitive_for({type, transpose_a, transpose_b, m, n, k, lda, ldb, ldc, alpha, beta});
    std::vector<char> scratchpad(std::max<std::size_t>(p->scratchpad.get_size(), 1));
    const dnnl::engine& engine = cpu_engine();
    p->matmul.execute(stream,
                      {{DNNL_ARG_SRC, memory(p->a, engine, const_cast<void*>(pa))},
                       {DNNL_ARG_WEIGHTS, memory(p->b, engine, const_cast<void*>(pb))},
                       {DNNL_ARG_DST, memory(p->c, engine, c)},
                       {DNNL_ARG_SCRATCHPAD, memory(p->scratchpad, engine, scratchpad.data())}});
    stream.wait();
}

}  // namespace

void DnnlGemm::run(DnnlType type, bool transpose_a, bool transpose_b, std::int64_t m,
                   std::int64_t n, std::int64_t k, float alpha, const float* a, std::int64_t lda,
                   const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
    if (type == DnnlType::bf16)
        return run_bf16(transpose_a, transpose_b, m, n, k, alpha, {.f32 = a}, lda, {.f32 = b}, ldb,
                        beta, c, ldc);
    execute(type, transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void DnnlGemm::run_bf16(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n,
                        std::int64_t k, float alpha, Bf16Operand a, std::int64_t lda, Bf16Operand b,
                        std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
    // Local buffers, freed at return: held between products (up to [2048,1536] bf16 per thread),
    // they raised medium's peak RSS by 5 MB (862.6 vs 857.6 MB) at the same step time; malloc
    // hands the memory to the next product or tensor.
    std::vector<std::uint16_t> a16, b16;
    // op(A) [m,k] is stored [k,m] when transposed; B likewise
    const std::uint16_t* pa = as_bf16(a, transpose_a ? k : m, transpose_a ? m : k, lda, a16);
    const std::uint16_t* pb = as_bf16(b, transpose_b ? n : k, transpose_b ? k : n, ldb, b16);
    execute(DnnlType::bf16, transpose_a, transpose_b, m, n, k, alpha, pa, lda, pb, ldb, beta, c,
            ldc);
}

const char* dnnl_bf16_isa() {
    switch (dnnl::get_effective_cpu_isa()) {
        case dnnl::cpu_isa::avx512_core_amx:
            return "AMX";
        case dnnl::cpu_isa::avx512_core_bf16:
            return "AVX512-BF16";
        default:
            return "none";
    }
}

std::string dnnl_version() {
    const dnnl_version_t* v = dnnl::version();
    return fmt::format("{}.{}.{}", v->major, v->minor, v->patch);
}

std::int64_t dnnl_primitives_created() { return created.load(); }

}  // namespace tapegrad::kernels
