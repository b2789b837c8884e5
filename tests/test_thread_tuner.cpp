// The thread tuner (core/kernels/thread_tuner.hpp): which count it picks from the step times it is
// given, and that a step's results do not depend on the count it picks.
#include <doctest/doctest.h>
#include <omp.h>

#include <vector>

#include "autograd/ops.hpp"
#include "core/kernels/parallel.hpp"
#include "core/kernels/thread_tuner.hpp"
#include "optim/clip.hpp"

using namespace tapegrad;
using kernels::ThreadTuner;

namespace {

// warm-up 1 step, 1 step after a change, 3 timed steps, runs of 4 growing to 16; no seconds
constexpr ThreadTuner::Options quick{1, 0.0, 1, 0.0, 3, 4, 16};

// Feeds `steps` steps to the tuner, each taking seconds_on(threads); returns the counts it chose.
template <class Time>
std::vector<int> drive(ThreadTuner& tuner, int steps, Time seconds_on) {
    std::vector<int> chosen;
    for (int s = 0; s < steps; ++s) chosen.push_back(tuner.step_took(seconds_on(tuner.threads())));
    return chosen;
}

int count_of(const std::vector<int>& v, int what) {
    int n = 0;
    for (int x : v) n += x == what;
    return n;
}

}  // namespace

TEST_CASE("thread tuner: one thread when one is faster, after timing both") {
    ThreadTuner tuner(2, quick);
    // warm-up 1 + 3 timed on 2 threads, then skip 1 + 3 timed on 1 thread: the 8th step decides
    const auto chosen = drive(tuner, 8, [](int threads) { return threads == 2 ? 0.010 : 0.005; });
    CHECK(chosen == std::vector<int>{2, 2, 2, 1, 1, 1, 1, 1});
    CHECK(tuner.threads() == 1);
    CHECK(count_of(drive(tuner, 3, [](int) { return 0.005; }), 1) == 3);  // the run of 4 goes on
}

TEST_CASE("thread tuner: keeps every thread when that is faster") {
    ThreadTuner tuner(4, quick);
    const auto chosen = drive(tuner, 8, [](int threads) { return threads == 4 ? 0.004 : 0.005; });
    CHECK(chosen.back() == 4);
    CHECK(count_of(chosen, 1) == 4);  // the trial of one thread: skip 1 + 3 timed
}

TEST_CASE("thread tuner: two steps on one thread far slower than all of them end its trial") {
    ThreadTuner tuner(2, quick);
    // warm-up 1 + 3 timed on 2 threads, skip 1 + two timed steps on 1 thread, 3x slower
    const auto chosen = drive(tuner, 7, [](int threads) { return threads == 2 ? 0.010 : 0.030; });
    CHECK(chosen == std::vector<int>{2, 2, 2, 1, 1, 1, 2});
}

TEST_CASE("thread tuner: a median of the timed steps, so one slow step does not decide") {
    ThreadTuner tuner(2, quick);
    int step = 0;
    drive(tuner, 8, [&](int threads) {
        ++step;
        if (step == 6) return 1.0;  // a validation pass inside the one-thread trial
        return threads == 2 ? 0.010 : 0.005;
    });
    CHECK(tuner.threads() == 1);
}

TEST_CASE("thread tuner: tries both again after a run, and follows a change of machine load") {
    ThreadTuner tuner(2, quick);
    bool loaded = true;  // two threads slow while another process wants the cores
    const auto time = [&](int threads) { return threads == 2 ? (loaded ? 0.050 : 0.004) : 0.006; };
    drive(tuner, 8, time);
    REQUIRE(tuner.threads() == 1);
    loaded = false;
    // the run of 4 steps, then a trial of 2 threads and of 1 (4 steps each) decides for 2
    const auto chosen = drive(tuner, 12, time);
    CHECK(chosen.back() == 2);
    CHECK(count_of(drive(tuner, 3, time), 2) == 3);
}

TEST_CASE("thread tuner: runs grow while the same count keeps winning") {
    ThreadTuner tuner(2, quick);
    const auto time = [](int threads) { return threads == 2 ? 0.010 : 0.005; };
    drive(tuner, 8, time);  // first trial: one thread wins, run of 4
    // each later trial has 4 steps on two threads; runs of 4, 8, 16, 16 between them
    const auto chosen = drive(tuner, 4 + 8 + 8 + 8 + 16 + 8 + 16 + 8, time);
    CHECK(count_of(chosen, 2) == 4 * 4);
}

TEST_CASE("thread tuner: steps after a change go untimed until enough time has passed") {
    ThreadTuner::Options settle = quick;
    settle.skip_seconds = 0.05;
    ThreadTuner tuner(2, settle);
    // warm-up 1 + 3 timed on 2 threads (10 ms), then 1 thread: skip 1 step and 50 ms = 5 steps of
    // 10 ms, so the 3 timed steps are the 6th to 8th on one thread, all of them slow but the last
    std::vector<double> one_thread{0.010, 0.010, 0.010, 0.010, 0.010, 0.002, 0.002, 0.020};
    std::size_t next = 0;
    drive(tuner, 12, [&](int threads) { return threads == 2 ? 0.005 : one_thread[next++]; });
    CHECK(next == 8);
    CHECK(tuner.last_trial().one == doctest::Approx(0.002));
    CHECK(tuner.threads() == 1);
}

TEST_CASE("thread tuner: never more than one thread when there is one") {
    ThreadTuner tuner(1, quick);
    CHECK(count_of(drive(tuner, 20, [](int) { return 0.01; }), 1) == 20);
}

// The tuner changes the count in the middle of a run, so every sum a step makes must come out the
// same on one thread and on two: layer norm's weight gradients, the cross-entropy, the gradient
// norm, the products. Sizes above the parallel threshold, so two threads do split them.
TEST_CASE("thread tuner: a step's numbers are the same on one thread and on two") {
    const auto run = [](int threads) {
        const int before = omp_get_max_threads();
        omp_set_num_threads(threads);
        const Tensor x = randn({512, 256}, {.seed = 1, .requires_grad = true});
        const Tensor w = randn({256}, {.seed = 2, .requires_grad = true});
        const Tensor b = randn({256}, {.seed = 3, .requires_grad = true});
        const Tensor kernel = randn({256, 256}, {.seed = 4, .requires_grad = true});
        std::vector<std::int32_t> targets(512);
        for (std::size_t i = 0; i < targets.size(); ++i)
            targets[i] = static_cast<std::int32_t>(i * 7 % 256);
        const Tensor logits = linear(layer_norm(x, w, b), kernel, b);
        const Tensor loss = cross_entropy(logits, ids(targets, {512}));
        loss.backward();
        const double norm = clip_grad_norm({x, w, b, kernel}, 1e9);
        omp_set_num_threads(before);
        std::vector<double> out{loss.item(), norm};
        for (const Tensor& t : {x, w, b, kernel})
            for (double v : t.grad().to_vector()) out.push_back(v);
        return out;
    };
    REQUIRE(512 * 256 > kernels::parallel_threshold);
    const std::vector<double> one = run(1), two = run(2);
    REQUIRE(one.size() == two.size());
    std::size_t differ = 0;
    for (std::size_t i = 0; i < one.size(); ++i) differ += one[i] != two[i];
    CHECK(differ == 0);
}
