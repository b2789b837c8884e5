// `tapegrad train --health`, `tapegrad lens` and `tapegrad report` run as a user runs them.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_runner.hpp"
#include "support.hpp"

using namespace tapegrad;
namespace fs = std::filesystem;

namespace {

using test::fails_naming;
using test::succeeded;

// The words of a command line written as one string, then `more`.
std::vector<std::string> words(const std::string& line, std::vector<std::string> more = {}) {
    std::vector<std::string> out;
    std::istringstream in(line);
    for (std::string w; in >> w;) out.push_back(w);
    out.insert(out.end(), more.begin(), more.end());
    return out;
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = 0; (at = text.find(what, at)) != std::string::npos; at += what.size())
        ++n;
    return n;
}

// 2 blocks of 2 heads trained 12 steps with health every 4 steps; returns the model directory.
fs::path train_tiny(const fs::path& dir) {
    {
        std::ofstream out(dir / "data.txt");
        for (int i = 0; i < 60; ++i) out << "hello world " << i % 7 << "\n";
    }
    succeeded(test::run_cli(words(
        "train --n-layer 2 --n-head 2 --n-embd 16 --block-size 16 --batch 4 --steps 12 --warmup 2 "
        "--eval-every 6 --quiet --health 4",
        {"--data", (dir / "data.txt").string(), "--metrics", (dir / "m.jsonl").string(), "--save",
         (dir / "model").string()})));
    return dir / "model";
}

}  // namespace

TEST_CASE("cli train --health: health numbers on every K-th step of the metrics") {
    const fs::path dir = test::scratch_dir("cli_health");
    train_tiny(dir);
    std::ifstream in(dir / "m.jsonl");
    std::vector<std::int64_t> steps;
    for (std::string line; std::getline(in, line);) {
        const nlohmann::json j = nlohmann::json::parse(line);
        if (!j.contains("health")) continue;
        steps.push_back(j["step"]);
        CHECK(j["health"]["layers"].size() == 2);
        CHECK(j["health"]["params"].contains("h.1.mlp.c_fc.weight"));
        CHECK(j["health"]["logit_max"].get<double>() > 0);
    }
    CHECK(steps == std::vector<std::int64_t>{0, 4, 8});
    fails_naming(test::run_cli({"train", "--data", (dir / "data.txt").string(), "--health", "4"}),
                 {"--health", "--metrics"});
}

TEST_CASE("cli lens: a table of read-outs and head contributions, and an SVG") {
    const fs::path dir = test::scratch_dir("cli_lens");
    const fs::path model = train_tiny(dir);
    const std::string out =
        succeeded(test::run_cli({"lens", "--model", model.string(), "--prompt", "hello w", "--out",
                                 (dir / "lens.svg").string()}));
    for (const char* part : {"logit lens of", "embeddings", "block 1", "head 1", "␣", "‖x‖"})
        CHECK_MESSAGE(out.find(part) != std::string::npos, part);
    const std::string svg = read_text(dir / "lens.svg");
    CHECK(count(svg, "class=\"cell\"") == 3 * 7 + 2 * 2);
    fails_naming(test::run_cli({"lens", "--model", model.string(), "--prompt", "hello?"}), {"?"});
    fails_naming(
        test::run_cli({"lens", "--model", model.string(), "--prompt", "h", "--top-k", "0"}),
        {"--top-k"});
}

TEST_CASE("cli report: model and metrics in one page, either alone, and bad input") {
    const fs::path dir = test::scratch_dir("cli_report");
    const fs::path model = train_tiny(dir);
    const std::string metrics = (dir / "m.jsonl").string();
    const std::string page = (dir / "out/report.html").string();
    CHECK(succeeded(test::run_cli({"report", "--model", model.string(), "--metrics", metrics,
                                   "--prompt", "hello", "--out", page}))
              .find("wrote") != std::string::npos);
    const std::string html = read_text(page);
    for (const char* chart : {"loss", "lr", "update_ratio", "grad_norm", "act_std", "gelu_tail",
                              "attn_entropy", "logit_max"})
        CHECK_MESSAGE(html.find(fmt::format("data-chart=\"{}\"", chart)) != std::string::npos,
                      chart);
    CHECK(count(html, "<details class=\"head\"") == 2 * 2);
    CHECK(html.find("class=\"chart lens\"") != std::string::npos);
    CHECK(html.find("<pre class=\"sample\">hello") != std::string::npos);
    CHECK(html.find("checks passed") != std::string::npos);  // the gradcheck table's summary

    succeeded(test::run_cli({"report", "--metrics", metrics, "--out", (dir / "m.html").string()}));
    CHECK(read_text(dir / "m.html").find("no model given") != std::string::npos);
    succeeded(test::run_cli({"report", "--model", model.string(), "--gradcheck-elements", "0",
                             "--out", (dir / "model.html").string()}));
    const std::string model_only = read_text(dir / "model.html");
    CHECK(model_only.find("no metrics given") != std::string::npos);
    CHECK(model_only.find("class=\"gradcheck\"") == std::string::npos);

    fails_naming(test::run_cli({"report", "--metrics", (dir / "none.jsonl").string()}),
                 {"none.jsonl"});
    {
        std::ofstream bad(dir / "bad.jsonl");
        bad << "{\"step\":0,\"loss\":1,\"health\":{\"params\":3}}\n";
    }
    fails_naming(test::run_cli({"report", "--metrics", (dir / "bad.jsonl").string(), "--out",
                                (dir / "bad.html").string()}),
                 {"bad.jsonl", "line 1", "health"});
}
