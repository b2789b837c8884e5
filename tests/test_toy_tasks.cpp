#include <doctest/doctest.h>

#include "core/precision.hpp"
#include "support.hpp"
#include "train/toy_tasks.hpp"

using namespace tapegrad;

TEST_CASE("toy tasks: targets are the copy, reverse and sort of the input") {
    Generator gen(3);
    for (ToyTask task : {ToyTask::copy, ToyTask::reverse, ToyTask::sort}) {
        const ToyBatch b = make_toy_batch(task, 4, 6, 10, gen);
        for (std::int64_t r = 0; r < 4; ++r) {
            std::vector<double> x, y;
            for (std::int64_t t = 0; t < 6; ++t) x.push_back(b.x.at({r, t})), y.push_back(b.y.at({r, t}));
            if (task == ToyTask::reverse) std::reverse(x.begin(), x.end());
            if (task == ToyTask::sort) std::sort(x.begin(), x.end());
            CHECK(x == y);
        }
    }
    CHECK(parse_task("sort") == ToyTask::sort);
    test::check_throws_with<ValueError>([] { parse_task("shuffle"); }, {"shuffle", "copy, reverse or sort"});
}

TEST_CASE("toy tasks: exact accuracy counts whole sequences") {
    const std::int32_t p[] = {1, 2, 3, 4, 5, 6};
    const std::int32_t t[] = {1, 2, 3, 4, 0, 6};
    CHECK(exact_accuracy(ids(p, {2, 3}), ids(t, {2, 3})) == 0.5);
    CHECK(exact_accuracy(ids(p, {3, 2}), ids(t, {3, 2})) == doctest::Approx(2.0 / 3.0));
}

namespace {

// The README demo's copy task, shortened to fit CI: reaches >= 99% within 400 steps.
void check_learns_copy() {
    SequenceTransformer model({.vocab_size = 10, .classes = 10, .max_len = 8, .width = 32, .layers = 1, .heads = 2, .seed = 1});
    const ToyResult r = train_toy_task(model, ToyTask::copy,
                                       {.batch = 32, .max_steps = 400, .eval_every = 50, .lr = 3e-3, .warmup = 20,
                                        .target_accuracy = 0.99, .test_size = 200, .seed = 5, .quiet = true});
    INFO("accuracy ", r.accuracy, " after ", r.steps, " steps");
    CHECK(r.accuracy >= 0.99);
    CHECK(r.predictions.shape() == Shape{200, 8});
}

}  // namespace

TEST_CASE("toy tasks: a transformer learns to copy 8 digits on held-out sequences") {
    check_learns_copy();
}

TEST_CASE(
    "toy tasks: the copy task also trains in bf16 mixed precision (a hand-written loop's guard)") {
    const PrecisionScope bf16(Precision::bf16);
    check_learns_copy();
}
