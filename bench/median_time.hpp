// The median wall time of a kernel call, after one warm-up call: what the kernel benchmarks report.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace tapegrad::bench {

template <class F>
double median_ms(F run, int runs = 21) {
    std::vector<double> ms;
    for (int i = 0; i <= runs; ++i) {
        const auto start = std::chrono::steady_clock::now();
        run();
        const auto stop = std::chrono::steady_clock::now();
        if (i > 0) ms.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

}  // namespace tapegrad::bench
