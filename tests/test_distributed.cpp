// Data-parallel training (train/distributed.hpp): flat buckets, rank shares, and `mpirun -np 2
// tapegrad train` against one process of the same global batch. The mpirun cases need a build
// with TAPEGRAD_MPI and Open MPI's mpirun; without them they say so and return.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "mpi_runner.hpp"
#include "support.hpp"
#include "train/data.hpp"
#include "train/distributed.hpp"

using namespace tapegrad;
using test::mpi_runnable;
using test::mpirun;
namespace fs = std::filesystem;

namespace {

fs::path write_sums(const fs::path& dir) {
    std::ofstream out(dir / "sums.txt");
    for (int a = 0; a < 30; ++a)
        for (int b = 0; b < 7; ++b) out << a << " plus " << b << " is " << a + b << ".\n";
    return dir / "sums.txt";
}

// 2 layers of width 32, global batch 4, 5 steps, no dropout; metrics to `metrics`.
std::vector<std::string> small_run(const fs::path& data, const fs::path& metrics,
                                   const std::string& batch = "4") {
    return {"train", "--data",    data.string(), "--n-layer",     "2",    "--n-head",
            "2",     "--n-embd",  "32",          "--block-size",  "16",   "--batch",
            batch,   "--steps",   "5",           "--lr",          "3e-3", "--warmup",
            "2",     "--dropout", "0",           "--eval-every",  "0",    "--eval-batches",
            "2",     "--quiet",   "--metrics",   metrics.string()};
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

std::vector<nlohmann::json> rows(const fs::path& metrics) {
    std::vector<nlohmann::json> out;
    std::ifstream in(metrics);
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
}

void expect_ok(const test::CliResult& r) {
    INFO(r.output);
    REQUIRE(r.status == 0);
}

// Each step's loss, and the validation loss at the end, agree to 1e-5 relative.
void expect_same_run(const std::vector<nlohmann::json>& a, const std::vector<nlohmann::json>& b) {
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        INFO("step ", i);
        CHECK(a[i]["loss"].get<double>() ==
              doctest::Approx(b[i]["loss"].get<double>()).epsilon(1e-5));
    }
    CHECK(a.back()["val_loss"].get<double>() ==
          doctest::Approx(b.back()["val_loss"].get<double>()).epsilon(1e-5));
}

// The reference: one process, the whole batch. Run once for every case that compares with it.
const std::vector<nlohmann::json>& one_process_run() {
    static const std::vector<nlohmann::json> metrics = [] {
        const fs::path dir = test::scratch_dir("mpi_reference");
        expect_ok(test::run_cli(small_run(write_sums(dir), dir / "m.jsonl")));
        return rows(dir / "m.jsonl");
    }();
    return metrics;
}

std::size_t occurrences(const std::string& text, const std::string& part) {
    std::size_t n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("data-parallel: flat buckets keep tensor order, split by size and dtype, and scale") {
    const std::vector<Tensor> layout = {arange(3), arange(5), arange(20), arange(2, {.dtype = f64}),
                                        arange(1)};
    FlatBuckets buckets(layout, /*bucket_bytes=*/32);  // 8 floats a bucket
    // {3, 5 floats}, {20 floats: larger than a bucket, alone}, {2 doubles}, {1 float}
    REQUIRE(buckets.count() == 4);
    CHECK((buckets[0].first == 0 && buckets[0].last == 2 && buckets[0].numel == 8));
    CHECK((buckets[1].first == 2 && buckets[1].last == 3 && buckets[1].numel == 20));
    CHECK((buckets[2].dtype == f64 && buckets[2].numel == 2));
    CHECK(buckets[3].numel == 1);
    for (std::size_t i = 0; i < buckets.count(); ++i) buckets.pack(i, layout);
    const auto* packed = reinterpret_cast<const float*>(buckets[0].data.data());
    CHECK(std::vector<float>(packed, packed + 8) == std::vector<float>{0, 1, 2, 0, 1, 2, 3, 4});

    std::vector<Tensor> out;
    for (const Tensor& t : layout) out.push_back(zeros(t.shape(), {.dtype = t.dtype()}));
    out[4] = Tensor();  // no gradient: skipped on unpack
    for (std::size_t i = 0; i < buckets.count(); ++i) buckets.unpack(i, out, 0.5);
    CHECK(out[1].to_vector() == std::vector<double>{0, 0.5, 1, 1.5, 2});
    CHECK(out[2].to_vector()[19] == 9.5);
    CHECK(out[3].to_vector() == std::vector<double>{0, 0.5});
    CHECK(buckets.matches(layout));
    CHECK_FALSE(buckets.matches({arange(3)}));
    CHECK_THROWS_WITH_AS(buckets.pack(0, {arange(4), arange(5), arange(20), arange(2), arange(1)}),
                         doctest::Contains("tensor 0 has 4 f32 elements, the layout 3 f32"),
                         ValueError);
}

TEST_CASE("data-parallel: rank r takes rows r·B/N to (r+1)·B/N of each step's global batch") {
    std::vector<std::int32_t> tokens(200);
    for (std::size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<std::int32_t>(i);
    const TokenData data(tokens);
    const TokenSource source(data, 5);
    for (int rank = 0; rank < 2; ++rank) {
        const RankShare share(source, rank, 2);
        CHECK(share.batches_per_epoch(4) == source.batches_per_epoch(4));
        const Batch mine = share.batch(/*step=*/3, /*batch_size=*/4);
        const Batch expected = data.rows(3, 4, 5, rank * 2, 2);
        CHECK(mine.x.to_vector() == expected.x.to_vector());
        CHECK(mine.y.to_vector() == expected.y.to_vector());
    }
    CHECK_THROWS_WITH_AS(RankShare(source, 0, 2).batch(0, 3),
                         doctest::Contains("does not divide among 2"), ValueError);
    CHECK_THROWS_AS(RankShare(source, 2, 2), ValueError);
}

TEST_CASE(
    "data-parallel: without mpirun the process is rank 0 of 1 and collectives change nothing") {
    DataParallel parallel;
    CHECK(parallel.size() == 1);
    CHECK(parallel.is_root());
    CHECK(parallel.mean(2.5) == 2.5);
    CHECK(parallel.any(true));
    parallel.expect_divisible("the batch", 7);
    parallel.expect_same("a value", 42);
    Tensor w = ones({3}, {.requires_grad = true});
    w.set_grad(full({3}, 2.0));
    parallel.average_gradients({w});
    CHECK(w.grad().to_vector() == std::vector<double>{2, 2, 2});
}

TEST_CASE("mpi: 2 ranks give each step the loss of 1 process with the same global batch") {
    if (!mpi_runnable()) return;
    const fs::path dir = test::scratch_dir("mpi_two_ranks");
    const test::CliResult r = test::run_command(
        mpirun(2) + test::cli_command(with(small_run(write_sums(dir), dir / "m.jsonl"),
                                           {"--save", (dir / "model").string()})));
    expect_ok(r);
    expect_same_run(rows(dir / "m.jsonl"), one_process_run());  // only rank 0 wrote metrics
    CHECK(occurrences(r.output, "trained steps 0..5") == 1);    // and printed
    CHECK(fs::exists(dir / "model" / "trainer.json"));
}

TEST_CASE("mpi: a checkpoint written by 2 ranks resumes on 1 with the uninterrupted losses") {
    if (!mpi_runnable()) return;
    const fs::path dir = test::scratch_dir("mpi_resume");
    const fs::path data = write_sums(dir), model = dir / "model", metrics = dir / "m.jsonl";
    expect_ok(test::run_command(
        mpirun(2) + test::cli_command(with(small_run(data, metrics),
                                           {"--save", model.string(), "--stop-at", "3"}))));
    // The settings come from the checkpoint; the validation ones are not kept there.
    expect_ok(test::run_cli({"train", "--data", data.string(), "--resume", model.string(), "--save",
                             model.string(), "--eval-every", "0", "--eval-batches", "2", "--quiet",
                             "--metrics", metrics.string()}));
    expect_same_run(rows(metrics), one_process_run());
}

TEST_CASE("mpi: a batch that does not divide among the ranks stops every rank with one message") {
    if (!mpi_runnable()) return;
    const fs::path dir = test::scratch_dir("mpi_bad_batch");
    const test::CliResult r = test::run_command(
        mpirun(2) + test::cli_command(small_run(write_sums(dir), dir / "m.jsonl", "5")));
    INFO(r.output);
    CHECK(r.status != 0);
    CHECK(r.status != 124);  // not the timeout
    CHECK(occurrences(r.output, "the batch of 5 sequences does not divide among 2 ranks") == 1);
}

TEST_CASE("mpi: ranks started with different settings stop with one message") {
    if (!mpi_runnable()) return;
    const fs::path dir = test::scratch_dir("mpi_disagree");
    const auto run = small_run(write_sums(dir), dir / "m.jsonl");
    const std::string both = mpirun(1) + test::cli_command(run) + " : -np 1 " +
                             test::cli_command(with(run, {"--seed", "7"}));
    const test::CliResult r = test::run_command(both);
    INFO(r.output);
    CHECK(r.status != 0);
    CHECK(r.status != 124);
    CHECK(occurrences(r.output, "the ranks disagree on the run settings") == 1);
}
