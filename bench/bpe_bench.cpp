// GPT-2 BPE encoding and decoding speed on one core: MB of text per second, best of N runs.
//   build/bpe_bench [tokenizer dir] [text file] [runs]
//   (defaults: ../shared/data/gpt2-bpe and ../shared/data/tinyshakespeare.txt, 5 runs)
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "io/atomic_file.hpp"
#include "io/bpe_tokenizer.hpp"

using namespace tapegrad;
using Clock = std::chrono::steady_clock;

template <class F>
double best_seconds(int runs, F&& f) {
    double best = 1e30;
    for (int i = 0; i < runs; ++i) {
        const auto start = Clock::now();
        f();
        best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count());
    }
    return best;
}

int main(int argc, char** argv) {
    const std::string dir = argc > 1 ? argv[1] : "../shared/data/gpt2-bpe";
    const std::string path = argc > 2 ? argv[2] : "../shared/data/tinyshakespeare.txt";
    const int runs = argc > 3 ? std::atoi(argv[3]) : 5;
    try {
        const auto load_start = Clock::now();
        const BpeTokenizer bpe = BpeTokenizer::load(dir);
        const double load = std::chrono::duration<double>(Clock::now() - load_start).count();
        const std::vector<std::byte> bytes = read_file(path);
        const std::string text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        std::vector<std::int32_t> ids;
        const double encode = best_seconds(runs, [&] { ids = bpe.encode(text); });
        std::string back;
        const double decode = best_seconds(runs, [&] { back = bpe.decode(ids); });
        const double mb = static_cast<double>(text.size()) / 1e6;
        fmt::print(
            "{{\"text_bytes\": {}, \"tokens\": {}, \"load_s\": {:.3f}, \"encode_mb_per_s\": "
            "{:.2f}, "
            "\"decode_mb_per_s\": {:.1f}, \"round_trip\": {}}}\n",
            text.size(), ids.size(), load, mb / encode, mb / decode, back == text);
    } catch (const std::exception& e) {
        fmt::print(stderr, "bpe_bench: {}\n", e.what());
        return 1;
    }
}
