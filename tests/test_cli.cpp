// The `tapegrad` program end to end: train, save, resume, sample, info, and its errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "support.hpp"

using namespace tapegrad;
namespace fs = std::filesystem;
using test::run_cli;

namespace {

// A small text with structure to learn, written into `dir`.
fs::path write_text(const fs::path& dir, const std::string& name = "data.txt") {
    std::ofstream out(dir / name);
    for (int a = 0; a < 20; ++a)
        for (int b = 0; b < 10; ++b) out << a << " and " << b << " make " << a + b << ".\n";
    return dir / name;
}

std::vector<std::string> tiny_run(const fs::path& data) {
    return {"train", "--data", data.string(), "--n-layer", "1", "--n-head", "2", "--n-embd", "16",
            "--block-size", "16", "--batch", "4", "--lr", "3e-3", "--warmup", "2", "--eval-every", "0", "--quiet"};
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

std::vector<double> losses(const fs::path& metrics) {
    std::vector<double> out;
    std::ifstream in(metrics);
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line)["loss"].get<double>());
    return out;
}

void expect_ok(const test::CliResult& r) {
    INFO(r.output);
    REQUIRE(r.status == 0);
}

void expect_error(const test::CliResult& r, const std::vector<std::string>& parts) {
    INFO(r.output);
    CHECK(r.status != 0);
    CHECK(r.status != -1);  // an error, not a crash
    for (const std::string& p : parts) CHECK_MESSAGE(r.output.find(p) != std::string::npos, p);
}

}  // namespace

TEST_CASE("cli: --help lists the subcommands, and bad arguments exit nonzero with a message") {
    const test::CliResult help = run_cli({"--help"});
    expect_ok(help);
    for (const char* sub : {"train", "sample", "info", "gradcheck"}) CHECK(help.output.find(sub) != std::string::npos);
    expect_ok(run_cli({"train", "--help"}));
    expect_error(run_cli({}), {"subcommand"});
    expect_error(run_cli({"train"}), {"--data"});
    expect_error(run_cli({"train", "--data", "/nonexistent/file.txt"}), {"/nonexistent/file.txt"});
    expect_error(run_cli({"sample", "--model", "/nonexistent"}), {"/nonexistent"});
    expect_error(run_cli({"train", "--data", TAPEGRAD_CLI, "--batch", "-3"}), {"--batch"});
}

TEST_CASE("cli: train saves a model that info and sample read") {
    const fs::path dir = test::scratch_dir("cli_train");
    const fs::path data = write_text(dir);
    const fs::path model = dir / "model";
    expect_ok(run_cli(with(tiny_run(data), {"--steps", "5", "--save", model.string(), "--metrics",
                                             (dir / "m.jsonl").string()})));
    CHECK(losses(dir / "m.jsonl").size() == 5);
    for (const char* f : {"config.json", "model.safetensors", "optimizer.safetensors", "trainer.json"})
        CHECK_MESSAGE(fs::exists(model / f), f);
    const test::CliResult info = run_cli({"info", model.string()});
    expect_ok(info);
    for (const char* part : {"n_layer 1", "n_head 2", "n_embd 16", "h.0.attn.c_attn.weight", "[16,48]",
                             "training checkpoint at step 5"})
        CHECK_MESSAGE(info.output.find(part) != std::string::npos, part);
    const test::CliResult sample =
        run_cli({"sample", "--model", model.string(), "--prompt", "3 and ", "--tokens", "20", "--seed", "1"});
    expect_ok(sample);
    CHECK(sample.output.starts_with("3 and "));
    CHECK(sample.output.size() == 6 + 20 + 1);  // prompt, 20 characters, newline
    const test::CliResult again =
        run_cli({"sample", "--model", model.string(), "--prompt", "3 and ", "--tokens", "20", "--seed", "1"});
    CHECK(again.output == sample.output);  // the seed fixes the sample
}

TEST_CASE("cli: train to step 3 of 7, resume, gives the losses of 7 uninterrupted steps") {
    const fs::path dir = test::scratch_dir("cli_resume");
    const fs::path data = write_text(dir);
    expect_ok(run_cli(with(tiny_run(data), {"--steps", "7", "--dropout", "0.1", "--metrics",
                                             (dir / "straight.jsonl").string()})));
    const fs::path ckpt = dir / "ckpt";
    const test::CliResult stopped = run_cli(with(tiny_run(data), {"--steps", "7", "--dropout", "0.1", "--stop-at", "3",
                                                           "--save", ckpt.string(), "--metrics",
                                                           (dir / "split.jsonl").string()}));
    expect_ok(stopped);
    CHECK(stopped.output.find("not validated") != std::string::npos);  // no made-up 0.0000
    expect_ok(run_cli({"train", "--data", data.string(), "--resume", ckpt.string(), "--quiet", "--metrics",
                       (dir / "split.jsonl").string(), "--save", ckpt.string()}));
    const std::vector<double> straight = losses(dir / "straight.jsonl");
    const std::vector<double> split = losses(dir / "split.jsonl");
    REQUIRE(straight.size() == 7);
    CHECK(split == straight);  // exact: same batches, schedule, dropout masks and optimizer state
}

TEST_CASE("cli: --shards trains in parts, resumes exactly, and a resume keeps its shards") {
    const fs::path dir = test::scratch_dir("cli_shards");
    const fs::path data = write_text(dir);
    const auto run = [&](const std::vector<std::string>& more, const std::string& metrics) {
        return run_cli(with(tiny_run(data),
                            with(more, {"--steps", "5", "--metrics", (dir / metrics).string()})));
    };
    expect_ok(run({}, "whole.jsonl"));
    expect_ok(run({"--shards", "2"}, "halves.jsonl"));
    const std::vector<double> whole = losses(dir / "whole.jsonl"),
                              halves = losses(dir / "halves.jsonl");
    REQUIRE(halves.size() == 5);
    for (std::size_t i = 0; i < 5; ++i) CHECK(halves[i] == doctest::Approx(whole[i]).epsilon(1e-5));
    expect_ok(run({"--shards", "2", "--dropout", "0.1"}, "parts.jsonl"));
    const std::vector<double> parts = losses(dir / "parts.jsonl");
    const fs::path ckpt = dir / "ckpt";
    expect_ok(run({"--shards", "2", "--dropout", "0.1", "--stop-at", "2", "--save", ckpt.string()},
                  "split.jsonl"));
    expect_error(
        run_cli({"train", "--data", data.string(), "--resume", ckpt.string(), "--shards", "1"}),
        {"--shards 1 differs from the checkpoint's 2"});
    expect_ok(run_cli({"train", "--data", data.string(), "--resume", ckpt.string(), "--quiet",
                       "--metrics", (dir / "split.jsonl").string()}));
    CHECK(losses(dir / "split.jsonl") == parts);
    expect_error(run({"--shards", "3"}, "bad.jsonl"),
                 {"sharded_backward's batch of 4 rows does not divide among 3 shards"});
}

TEST_CASE("cli: resume and init refuse what would silently change the run") {
    const fs::path dir = test::scratch_dir("cli_refuse");
    const fs::path data = write_text(dir);
    const fs::path ckpt = dir / "ckpt";
    expect_ok(run_cli(with(tiny_run(data), {"--steps", "2", "--save", ckpt.string()})));
    expect_error(run_cli({"train", "--data", data.string(), "--resume", ckpt.string(), "--batch", "8"}),
                 {"--batch 8 differs from the checkpoint's 4"});
    expect_error(run_cli({"train", "--data", data.string(), "--resume", ckpt.string(), "--steps", "2"}),
                 {"step 2", "nothing to do"});
    std::ofstream(dir / "other.txt") << "Quite different text, with capitals and punctuation!\n";
    expect_error(run_cli({"train", "--data", (dir / "other.txt").string(), "--init", ckpt.string()}),
                 {"does not fit the model's vocabulary", "\"Q\""});
    expect_ok(run_cli({"info", ckpt.string()}));
    expect_error(run_cli({"train", "--data", data.string(), "--resume", (dir / "missing").string()}),
                 {"missing"});
    std::ofstream(dir / "short.txt") << "too short";
    expect_error(run_cli({"train", "--data", (dir / "short.txt").string(), "--block-size", "64"}),
                 {"one batch needs", "--batch"});
    expect_error(run_cli({"train", "--data", data.string(), "--n-embd", "16", "--n-head", "3"}), {"divisible"});
}

TEST_CASE("cli: a checkpoint keeps its batch rule, and one from before random windows resumes sequential") {
    const fs::path dir = test::scratch_dir("cli_sampling");
    const fs::path data = write_text(dir);
    const fs::path ckpt = dir / "ckpt";
    const auto run = [&](const std::vector<std::string>& more, const std::string& metrics) {
        return run_cli(with(tiny_run(data), with(more, {"--metrics", (dir / metrics).string()})));
    };
    expect_ok(run({"--steps", "3"}, "random.jsonl"));
    expect_ok(run({"--steps", "3", "--sampling", "sequential"}, "sequential.jsonl"));
    CHECK(losses(dir / "random.jsonl") != losses(dir / "sequential.jsonl"));  // other batches
    expect_ok(run({"--steps", "3", "--stop-at", "2", "--sampling", "sequential", "--save", ckpt.string()},
                  "x.jsonl"));
    expect_error(run_cli({"train", "--data", data.string(), "--resume", ckpt.string(), "--sampling", "random"}),
                 {"--sampling random differs from the checkpoint's sequential"});
    // A checkpoint written before --sampling existed has no such setting: it ran sequentially.
    nlohmann::json trainer = nlohmann::json::parse(std::ifstream(ckpt / "trainer.json"));
    trainer["run"].erase("sampling");
    std::ofstream(ckpt / "trainer.json") << trainer.dump();
    expect_ok(run_cli({"train", "--data", data.string(), "--resume", ckpt.string(), "--quiet", "--metrics",
                       (dir / "old.jsonl").string()}));
    CHECK(losses(dir / "old.jsonl").back() == losses(dir / "sequential.jsonl").back());
}

TEST_CASE("cli: validation prints the train/val gap, and --eval-batches all covers the whole split once") {
    const fs::path dir = test::scratch_dir("cli_validation");
    const fs::path data = write_text(dir);  // 200 lines, about 3,700 characters; 10 % held out
    std::vector<std::string> args = tiny_run(data);
    args.erase(std::find(args.begin(), args.end(), "--quiet"));
    args.erase(std::find(args.begin(), args.end(), "--eval-every"), std::find(args.begin(), args.end(), "--eval-every") + 2);
    const test::CliResult r = run_cli(with(args, {"--steps", "4", "--eval-every", "2", "--eval-batches", "all",
                                                  "--metrics", (dir / "m.jsonl").string()}));
    expect_ok(r);
    CHECK(r.output.find("  gap ") != std::string::npos);
    std::ifstream in(dir / "m.jsonl");
    std::vector<nlohmann::json> rows;
    for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
    REQUIRE(rows.size() == 4);
    REQUIRE(rows[1].contains("val_tokens"));
    // Sequential windows of 4×16 tokens over the held-out characters: every whole batch, once.
    std::ifstream text(data);
    const std::string all((std::istreambuf_iterator<char>(text)), std::istreambuf_iterator<char>());
    const auto held_out = static_cast<std::int64_t>(all.size()) - static_cast<std::int64_t>(
        static_cast<double>(all.size()) * 0.9);
    CHECK(rows[1]["val_tokens"].get<std::int64_t>() == (held_out - 1) / 64 * 64);
    CHECK(rows[1]["train_loss"].get<double>() ==
          doctest::Approx((rows[0]["loss"].get<double>() + rows[1]["loss"].get<double>()) / 2));
    CHECK_FALSE(rows[2].contains("val_tokens"));
}

TEST_CASE("cli: a diverging run stops with a clear message and keeps the last good checkpoint") {
    const fs::path dir = test::scratch_dir("cli_nan");
    const fs::path data = write_text(dir);
    const std::vector<std::string> diverging{
        "train", "--data", data.string(), "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16",
        "--batch", "4", "--steps", "10", "--optimizer", "sgd", "--lr", "1e30", "--momentum", "0", "--grad-clip", "0"};
    const fs::path ckpt = dir / "ckpt";
    expect_error(run_cli(with(diverging, {"--save", ckpt.string(), "--save-every", "1", "--quiet"})),
                 {"the loss became", "at step 1", "the last good checkpoint, step 1, is in"});
    const test::CliResult info = run_cli({"info", ckpt.string()});
    expect_ok(info);
    CHECK(info.output.find("training checkpoint at step 1") != std::string::npos);
    expect_error(run_cli(with(diverging, {"--quiet", "--detect-anomaly"})),
                 {"anomaly:", "produced", "in forward"});
}

TEST_CASE(
    "cli: --precision bf16 is kept by the checkpoint, and without bf16 runs fp32 with one notice") {
    const test::CliResult system = run_cli({"info", "--system"});
    expect_ok(system);
    for (const char* part : {"ISA ", "BLAS ", "oneDNN ", "OpenMP threads"})
        CHECK_MESSAGE(system.output.find(part) != std::string::npos, part);
    const fs::path dir = test::scratch_dir("cli_precision");
    const fs::path data = write_text(dir);
    const auto run = [&](const std::string& env, const std::string& precision,
                         const std::string& name) {
        return test::run_command(
            env +
            test::cli_command(with(tiny_run(data), {"--steps", "3", "--precision", precision,
                                                    "--save", (dir / name).string(), "--metrics",
                                                    (dir / (name + ".jsonl")).string()})));
    };
    expect_ok(run("", "fp32", "fp32"));
    const test::CliResult fallback = run("TAPEGRAD_BF16=off ", "bf16", "fallback");
    expect_ok(fallback);
    const std::string notice = "notice: bf16 needs AVX512-BF16 or AMX";
    const std::size_t at = fallback.output.find(notice);
    CHECK(at != std::string::npos);
    CHECK(fallback.output.find(notice, at + 1) == std::string::npos);
    CHECK(losses(dir / "fallback.jsonl") == losses(dir / "fp32.jsonl"));  // fp32, bit for bit
    std::ifstream trainer(dir / "fallback" / "trainer.json");
    CHECK(nlohmann::json::parse(trainer)["run"]["precision"] == "bf16");  // a resume keeps asking
}
