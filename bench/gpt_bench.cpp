// One training step of a GPT (forward, backward, AdamW with weight decay 0.1), timed after warm-up.
// Prints one JSON line: config, median ms/step, tokens/s, GFLOP/s, parameters, peak RSS, BLAS.
//   build/gpt_bench small 20
//   build/gpt_bench medium 10 --perf-control FIFO   (bench/profile.sh: perf samples the timed steps
//   only)
//   build/gpt_bench medium 10 --precision bf16      (bf16 mixed precision, core/precision.hpp)
//   build/gpt_bench toy 400 --shards 2              (the batch in 2 parts side by side,
//   train/sharded_step.hpp)
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "core/kernels/dnnl_gemm.hpp"
#include "core/kernels/gemm.hpp"
#include "core/precision.hpp"
#include "layers/gpt.hpp"
#include "optim/adam.hpp"
#include "train/data.hpp"
#include "train/sharded_step.hpp"

using namespace tapegrad;

namespace {

struct BenchConfig {
    const char* name;
    std::int64_t context, layers, heads, width, batch;
};

constexpr BenchConfig configs[] = {
    {"toy", 8, 2, 4, 64, 64},  // the README demo's model size and batch
    {"tiny", 64, 2, 4, 64, 16},
    {"small", 128, 4, 4, 128, 16},
    {"medium", 256, 6, 6, 384, 8},
};

// Synthetic tokens: the step time does not depend on the text.
TokenData random_tokens(std::int64_t n, std::int64_t vocab) {
    Generator gen(3);
    std::vector<std::int32_t> tokens(static_cast<std::size_t>(n));
    for (auto& t : tokens)
        t = static_cast<std::int32_t>(gen.below(static_cast<std::uint64_t>(vocab)));
    return TokenData(std::move(tokens));
}

// Tells `perf record --control fifo:PATH -D -1` to start sampling. The fifo stays open until exit:
// perf stops listening once its writer closes.
void perf_enable(const std::string& fifo) {
    static std::ofstream control;
    if (fifo.empty()) return;
    control.open(fifo);
    control << "enable" << std::endl;
}

// The wait policy libgomp runs with: GOMP_SPINCOUNT=300 unless the user set one (core/kernels/gemm.cpp).
std::string omp_wait() {
    if (const char* policy = std::getenv("OMP_WAIT_POLICY")) return policy;
    if (const char* spins = std::getenv("GOMP_SPINCOUNT"))
        return fmt::format("GOMP_SPINCOUNT={}", spins);
    return "spin";
}

}  // namespace

int main(int argc, char** argv) {
    const std::string which = argc > 1 ? argv[1] : "small";
    const int steps = argc > 2 ? std::atoi(argv[2]) : 20;
    std::string perf_fifo;
    Precision requested = Precision::fp32;
    int shards = 1;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (std::string(argv[i]) == "--perf-control") perf_fifo = argv[i + 1];
        if (std::string(argv[i]) == "--precision")
            requested = parse_precision(argv[i + 1]).value_or(Precision::fp32);
        if (std::string(argv[i]) == "--shards") shards = std::max(1, std::atoi(argv[i + 1]));
    }
    const PrecisionScope precision(requested);
    const auto* c = std::find_if(std::begin(configs), std::end(configs),
                                 [&](auto& k) { return which == k.name; });
    if (c == std::end(configs)) {
        fmt::print(stderr, "error: unknown config '{}' (toy, tiny, small, medium)\n", which);
        return 1;
    }
    constexpr std::int64_t vocab = 65;
    Gpt model({.vocab_size = vocab,
               .n_positions = c->context,
               .n_embd = c->width,
               .n_layer = c->layers,
               .n_head = c->heads,
               .seed = 1});
    AdamW optimizer(param_groups_for_weight_decay(model.named_parameters(), 0.1), {.lr = 3e-4});
    const TokenData data = random_tokens(c->batch * c->context * 8 + 1, vocab);
    constexpr int warmup = 3;
    std::vector<double> ms;
    for (int step = 0; step < warmup + steps; ++step) {
        const Batch b = data.batch(step, c->batch, c->context);
        if (step == warmup) perf_enable(perf_fifo);
        const auto start = std::chrono::steady_clock::now();
        optimizer.zero_grad();
        sharded_backward(
            model, [&](const Batch& part) { return model.loss(part.x, part.y); }, b, shards);
        optimizer.step();
        const double t =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count();
        if (step >= warmup) ms.push_back(t);
    }
    std::sort(ms.begin(), ms.end());
    const double median = ms[ms.size() / 2];
    const double tokens = static_cast<double>(c->batch * c->context);
    const double params = static_cast<double>(model.parameter_count());
    const double flops = 6 * params * tokens + 12.0 * c->layers * c->context * c->width * tokens;
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    fmt::print(
        R"({{"engine":"tapegrad","config":"{}","ms_per_step":{:.2f},"tokens_per_s":{:.0f},"gflops":{:.2f},)"
        R"("params":{},"peak_rss_mb":{:.1f},"blas":"{}","blas_threads":{},"omp_wait":"{}",)"
        R"("precision":"{}","isa":"{}","shards":{}}})"
        "\n",
        c->name, median, tokens / median * 1e3, flops / median * 1e-6,
        static_cast<std::int64_t>(params), usage.ru_maxrss / 1024.0, kernels::blas_config(),
        kernels::blas_threads(), omp_wait(), precision_name(precision.active()),
        kernels::dnnl_bf16_isa(), shards);
    return 0;
}
