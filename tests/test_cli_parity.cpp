// `tapegrad train --init` against PyTorch: the same GPT (built in torch with GPT-2's names and saved
// as safetensors by the script's own writer), data rule, schedule, clipping and AdamW give the same
// loss at every step. Needs torch at /usr/bin/python3 (Debian's python3-torch); skips without it.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "support.hpp"

using namespace tapegrad;
namespace fs = std::filesystem;

namespace {

bool torch_available() { return std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0; }

nlohmann::json run_torch(const fs::path& out, int steps) {
    const std::string script = (test::source_dir() / "tests/fixtures/torch_gpt_parity.py").string();
    const std::string command = "/usr/bin/python3 " + test::shell_quote(script) + " " +
                                test::shell_quote(out.string()) + " --steps " + std::to_string(steps) + " > " +
                                test::shell_quote((out / "torch.json").string());
    REQUIRE(std::system(command.c_str()) == 0);
    std::ifstream in(out / "torch.json");
    return nlohmann::json::parse(in);
}

std::string number(const nlohmann::json& v) { return v.dump(); }

}  // namespace

TEST_CASE("cli parity: tapegrad train --init matches PyTorch's loss at every AdamW step") {
    if (!torch_available()) {
        MESSAGE("skipped: /usr/bin/python3 cannot import torch (install python3-torch)");
        return;
    }
    const int steps = 10;
    const fs::path dir = test::scratch_dir("cli_parity");
    const nlohmann::json torch = run_torch(dir, steps);
    const test::CliResult r = test::run_cli(
        {"train", "--init", (dir / "model").string(), "--data", (dir / "data.txt").string(), "--steps",
         std::to_string(steps), "--batch", number(torch["batch"]), "--block-size", number(torch["block_size"]),
         "--lr", number(torch["lr"]), "--min-lr", number(torch["min_lr"]), "--warmup", number(torch["warmup"]),
         "--weight-decay", number(torch["weight_decay"]), "--grad-clip", number(torch["grad_clip"]),
         "--val-fraction", number(torch["val_fraction"]), "--optimizer", "adamw", "--eval-every", "0", "--quiet",
         "--sampling", "sequential",  // the script reads llm.c's order: the model and optimizer are checked
         "--metrics", (dir / "m.jsonl").string()});
    INFO(r.output);
    REQUIRE(r.status == 0);
    std::ifstream in(dir / "m.jsonl");
    std::vector<double> ours;
    for (std::string line; std::getline(in, line);) ours.push_back(nlohmann::json::parse(line)["loss"].get<double>());
    const auto theirs = torch["losses"].get<std::vector<double>>();
    REQUIRE(ours.size() == theirs.size());
    for (std::size_t i = 0; i < ours.size(); ++i) {
        INFO("step ", i, ": tapegrad ", ours[i], ", torch ", theirs[i]);
        CHECK(std::abs(ours[i] - theirs[i]) <= 1e-4 * std::abs(theirs[i]));
    }
    CHECK(ours.back() < ours.front() - 0.3);  // and it learned something
}
