// Crash-safe saves: a checkpoint save that fails part way (a full disk, injected) or whose process
// is killed leaves the previous checkpoint whole, loadable and resumable; never a mix of two.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <ranges>
#include <thread>

#include "io/atomic_directory.hpp"
#include "io/atomic_file.hpp"
#include "io/checkpoint.hpp"
#include "io/pretrained.hpp"
#include "io/stale_staging.hpp"
#include "optim/adam.hpp"
#include "support.hpp"

using namespace tapegrad;
namespace fs = std::filesystem;

namespace {

using TensorMap = std::map<std::string, Tensor>;

const TextTokenizer& tokenizer() {
    static const TextTokenizer tok = CharTokenizer::from_text("hello world");  // 8 characters
    return tok;
}

GptConfig tiny_config() {
    return {.vocab_size = tokenizer().size(),
            .n_positions = 8,
            .n_embd = 8,
            .n_layer = 1,
            .n_head = 2,
            .seed = 5};
}

AdamOptions adam_options() { return {.lr = 1e-2}; }

// One AdamW step on a fixed batch of "hello world".
void train_step(Gpt& model, Optimizer& optimizer) {
    const std::vector<std::int32_t> t = tokenizer().encode("hello world");
    const Tensor x = ids(std::span(t).first(8), {2, 4});
    const Tensor y = ids(std::span(t).subspan(1, 8), {2, 4});
    model.loss(x, y).backward();
    optimizer.step();
    optimizer.zero_grad();
}

TensorMap copies(const TensorMap& m) {
    TensorMap out;
    for (const auto& [name, t] : m) out[name] = t.clone();
    return out;
}

// Same names, dtypes, shapes and bits.
bool same_bits(const TensorMap& a, const TensorMap& b) {
    if (a.size() != b.size()) return false;
    for (const auto& [name, t] : a) {
        const auto it = b.find(name);
        if (it == b.end() || it->second.dtype() != t.dtype() || !(it->second.shape() == t.shape()))
            return false;
        const std::size_t n = static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype());
        if (std::memcmp(t.raw_data(), it->second.raw_data(), n) != 0) return false;
    }
    return true;
}

struct Loaded {
    PretrainedGpt pretrained;
    std::unique_ptr<AdamW> optimizer;
    TrainerState state;
};

Loaded load(const fs::path& dir) {
    Loaded l{.pretrained = load_pretrained(dir)};
    l.optimizer = std::make_unique<AdamW>(l.pretrained.model->parameters(), adam_options());
    l.state = load_training_state(dir, *l.pretrained.model, *l.optimizer);
    return l;
}

std::size_t entries_in(const fs::path& dir) {
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

// Every weight and every optimizer value set to `value`, saved as step `value`: a checkpoint that
// mixed files of two saves would show two different numbers.
void save_uniform(const fs::path& dir, Gpt& model, AdamW& optimizer, std::int64_t value) {
    for (const Tensor& p : model.parameters()) std::ranges::fill(p.span<float>(), float(value));
    TensorMap state = optimizer.state_dict();
    for (auto& [name, t] : state)
        if (name == "step" || name.starts_with("state."))
            t = full(t.shape(), double(value), {.dtype = t.dtype()});
    optimizer.load_state_dict(state);
    save_checkpoint(dir, model, &tokenizer(), optimizer, {.step = value});
}

// The step of the checkpoint in `dir`, after checking every weight and optimizer value equals it.
std::int64_t uniform_step(const fs::path& dir) {
    const Loaded l = load(dir);
    const double step = double(l.state.step);
    for (const Tensor& p : l.pretrained.model->parameters())
        for (double v : p.to_vector()) REQUIRE(v == step);
    for (const auto& [name, t] : l.optimizer->state_dict())
        if (name == "step" || name.starts_with("state."))
            for (double v : t.to_vector()) REQUIRE(v == step);
    return l.state.step;
}

}  // namespace

TEST_CASE("crash-safe save: a write failure at any point keeps the previous checkpoint whole") {
    const fs::path root = test::scratch_dir("crash_inject"), dir = root / "ckpt";
    Gpt model(tiny_config());
    AdamW optimizer(model.parameters(), adam_options());
    for (int i = 0; i < 3; ++i) train_step(model, optimizer);
    save_checkpoint(dir, model, &tokenizer(), optimizer, {.step = 3});
    const TensorMap weights = copies(model.state_dict());
    const TensorMap optimizer_state = optimizer.state_dict();
    std::map<std::string, std::size_t> sizes;
    for (const auto& e : fs::directory_iterator(dir)) sizes[e.path().filename()] = e.file_size();
    REQUIRE(sizes.size() == 4);
    train_step(model, optimizer);  // step 4: what the failing saves try to write
    const TensorMap weights_4 = copies(model.state_dict());

    // The hook fails each file after N bytes; N runs through every file (in steps of ~1/32 of
    // the largest, plus the last byte of each), so saves die inside config.json, the weights and
    // the optimizer state (trainer.json, written last and smaller than the weights, cannot be
    // reached this way).
    const std::size_t largest = std::ranges::max(sizes | std::views::values);
    std::vector<std::size_t> points;
    for (std::size_t n = 0; n < largest; n += std::max<std::size_t>(1, largest / 32))
        points.push_back(n);
    for (const auto& [name, size] : sizes) points.push_back(size - 1);
    for (std::size_t n : points) {
        INFO("failing after ", n, " bytes");
        {
            detail::InjectWriteFailure full_disk(n);
            CHECK_THROWS_AS(save_checkpoint(dir, model, &tokenizer(), optimizer, {.step = 4}),
                            IoError);
        }
        CHECK(entries_in(root) == 1);  // no staging directory left behind
        const Loaded l = load(dir);
        CHECK(l.state.step == 3);
        CHECK(same_bits(l.pretrained.model->state_dict(), weights));
        CHECK(same_bits(l.optimizer->state_dict(), optimizer_state));
    }
    // The survivor resumes: one step from it gives exactly the uninterrupted run's step 4.
    Loaded l = load(dir);
    train_step(*l.pretrained.model, *l.optimizer);
    CHECK(same_bits(l.pretrained.model->state_dict(), weights_4));
    // With room for every file the same save goes through.
    {
        detail::InjectWriteFailure roomy(largest);
        save_checkpoint(dir, model, &tokenizer(), optimizer, {.step = 4});
    }
    CHECK(load(dir).state.step == 4);
    fs::remove_all(root);
}

TEST_CASE("crash-safe save: a process killed while saving leaves the old or the new checkpoint") {
    const fs::path root = test::scratch_dir("crash_kill"), dir = root / "ckpt";
    Gpt model(tiny_config());
    AdamW optimizer(model.parameters(), adam_options());
    train_step(model, optimizer);  // the optimizer has state to save
    const auto start = std::chrono::steady_clock::now();
    save_uniform(dir, model, optimizer, 1);
    // Kill moments spread over three save durations: some land inside the first save, others
    // after one or more complete saves, inside a later one.
    const auto save_time = std::chrono::steady_clock::now() - start;
    const auto save_us = std::chrono::duration_cast<std::chrono::microseconds>(save_time).count();
    std::mt19937 rng(2024);
    std::int64_t last = 1;
    int changed = 0;
    for (int round = 0; round < 8; ++round) {
        const std::int64_t first = 1000 * (round + 1);
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {  // the child saves first, first + 1, ... until it is killed
            try {
                for (std::int64_t v = first;; ++v) save_uniform(dir, model, optimizer, v);
            } catch (...) {
            }
            ::_exit(3);
        }
        const auto wait_us = std::uniform_int_distribution<std::int64_t>(0, 3 * save_us)(rng);
        std::this_thread::sleep_for(std::chrono::microseconds(wait_us));
        ::kill(pid, SIGKILL);
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        INFO("round ", round, ", killed after ", wait_us, " µs (a save takes ", save_us, " µs)");
        REQUIRE(WIFSIGNALED(status));  // the child was still saving, not failed
        const std::int64_t step = uniform_step(dir);
        CHECK((step == last || step >= first));
        changed += step != last;
        last = step;
    }
    MESSAGE(changed, " of 8 kills left a newer checkpoint, the others the previous one");
    fs::remove_all(root);
}

namespace {

// A pid that no process holds: a child's, once it has exited and been reaped.
pid_t dead_pid() {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) ::_exit(0);
    REQUIRE(::waitpid(pid, nullptr, 0) == pid);
    return pid;
}

// A live pid that is not ours: a child asleep until the end of the test.
class SleepingChild {
public:
    SleepingChild() : pid_(::fork()) {
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::pause();
            ::_exit(0);
        }
    }
    ~SleepingChild() {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    SleepingChild(const SleepingChild&) = delete;
    SleepingChild& operator=(const SleepingChild&) = delete;
    pid_t pid() const { return pid_; }

private:
    pid_t pid_;
};

fs::path make_dir(const fs::path& path) {
    fs::create_directories(path / "inner");
    std::ofstream(path / "inner" / "config.json") << "{}";
    return path;
}

}  // namespace

TEST_CASE("stale staging: a save removes what dead writers left, never a live writer's") {
    const fs::path root = test::scratch_dir("stale_staging"), dir = root / "ckpt";
    const auto staging = [&](auto pid) { return root / fmt::format("ckpt.tmp.{}", pid); };
    const auto fill = [](const fs::path& staging) { std::ofstream(staging / "a.txt") << "a"; };
    write_directory_atomic(dir, fill);
    const fs::path dead = make_dir(staging(dead_pid()));
    // Last written an hour before the checkpoint, by a pid that a process started since holds:
    // the writer died and its pid was reused.
    const SleepingChild newcomer;
    const fs::path reused = make_dir(staging(newcomer.pid()));
    fs::last_write_time(reused, fs::last_write_time(dir) - std::chrono::hours(1));
    const SleepingChild writer;
    const fs::path live = make_dir(staging(writer.pid()));  // still writing
    const std::vector<fs::path> kept = {
        make_dir(root / "ckpt.tmp.x1"), make_dir(root / "ckpt.tmp."),
        make_dir(root / "ckpt.tmp.-1"), make_dir(root / "ckpt.tmp.0"),
        make_dir(root / fmt::format("other.tmp.{}", dead_pid()))};
    // Under a /proc of another PID namespace the reused pid looks like its live writer: kept.
    const bool tells_reuse = can_tell_reused_pids();
    const std::vector<fs::path> expected =
        tells_reuse ? std::vector<fs::path>{dead, reused} : std::vector<fs::path>{dead};
    CHECK(stale_staging(dir) == expected);
    CHECK(stale_staging(root / "ckpt/") == expected);
    write_directory_atomic(dir, fill);
    CHECK_FALSE(fs::exists(dead));
    CHECK(fs::exists(reused) == !tells_reuse);
    CHECK(fs::exists(live));  // older than the new checkpoint now, but its writer lives
    for (const fs::path& p : kept) CHECK(fs::exists(p));
    CHECK(stale_staging(dir).empty());
    fs::remove_all(root);
}

TEST_CASE("stale staging: an atomic file write removes temporary files of dead writers") {
    const fs::path root = test::scratch_dir("stale_temp"), file = root / "w.bin";
    const fs::path dead = root / fmt::format("w.bin.tmp.{}", dead_pid());
    std::ofstream(dead) << "half";
    const SleepingChild writer;
    const fs::path live = root / fmt::format("w.bin.tmp.{}", writer.pid());
    std::ofstream(live) << "still writing";
    CHECK(stale_staging(file) == std::vector<fs::path>{dead});  // `file` does not exist yet
    write_file_atomic(file, std::as_bytes(std::span("new", 3)));
    CHECK_FALSE(fs::exists(dead));
    CHECK(fs::exists(live));
    fs::remove_all(root);
}
