// At most `threads` OpenMP threads for the parallel regions this thread starts while the cap is
// alive (the previous limit comes back after). For work too small to split: generating one token
// of a small GPT with a KV cache runs 5x faster on one thread than on two (bench/generate_bench).
#pragma once

namespace tapegrad::kernels {

class ThreadCap {
public:
    explicit ThreadCap(int threads);
    ~ThreadCap();
    ThreadCap(const ThreadCap&) = delete;
    ThreadCap& operator=(const ThreadCap&) = delete;

private:
    int previous_;
};

}  // namespace tapegrad::kernels
