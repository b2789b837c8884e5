// Training runs SIGKILLed at random moments, inside saves too (issue 26): after each kill the
// checkpoint loads, resumes to the bits of an uninterrupted run, and the resumed run's saves leave
// no staging directory or temporary file behind. One process, and `mpirun -np 2`.
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>

#include "cli_runner.hpp"
#include "io/atomic_file.hpp"
#include "io/checkpoint.hpp"
#include "killable_run.hpp"
#include "mpi_runner.hpp"
#include "support.hpp"

using namespace tapegrad;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::int64_t steps = 24;
// How the killed runs save. Paused rounds set TAPEGRAD_TEST_SAVE_PAUSE_MS: 5 pauses a save
// (io/atomic_directory.hpp) make saves most of the run, so most of their kills land inside
// one; plain rounds save less often, so more of theirs land between saves.
struct Saving {
    int pause_ms;
    int every;  // --save-every
};
constexpr Saving plain_saves{.pause_ms = 0, .every = 6}, paused_saves{.pause_ms = 10, .every = 2};

struct Setup {
    std::string launcher;  // "" or mpirun(2)
    std::string dropout;   // "0" where ranks must match one process (dropout masks differ)
    fs::path root, data;
    fs::path rank_pids;  // where the ranks of killable mpirun runs list their pids
};

fs::path write_products(const fs::path& dir) {
    std::ofstream out(dir / "products.txt");
    for (int a = 0; a < 12; ++a)
        for (int b = 0; b < 12; ++b) out << a << " times " << b << " is " << a * b << ".\n";
    return dir / "products.txt";
}

// What a fresh run and a resumed one both pass: the validation settings are not kept in the
// checkpoint, nor is --save-every.
std::vector<std::string> run_args(const Setup& s, const fs::path& dir, const fs::path& metrics,
                                  int save_every) {
    std::vector<std::string> args = {"train", "--data=" + s.data.string(), "--save=" + dir.string(),
                                     "--metrics=" + metrics.string()};
    for (const char* a : {"--eval-every=0", "--eval-batches=2", "--quiet"}) args.push_back(a);
    args.push_back(fmt::format("--save-every={}", save_every));
    return args;
}

std::vector<std::string> fresh_run(const Setup& s, const fs::path& dir, int save_every) {
    std::vector<std::string> args = run_args(s, dir, dir.string() + ".jsonl", save_every);
    for (const char* a : {"--n-layer=1", "--n-head=2", "--n-embd=16", "--block-size=16",
                          "--batch=4", "--lr=3e-3", "--warmup=2"})
        args.push_back(a);
    args.push_back(fmt::format("--steps={}", steps));
    args.push_back("--dropout=" + s.dropout);
    return args;
}

std::vector<std::string> resumed_run(const Setup& s, const fs::path& dir, const fs::path& metrics) {
    std::vector<std::string> args = run_args(s, dir, metrics, /*save_every=*/2);
    args.push_back("--resume=" + dir.string());
    return args;
}

std::string command(const std::string& launcher, int pause, const std::vector<std::string>& args) {
    return fmt::format("TAPEGRAD_TEST_SAVE_PAUSE_MS={} OMP_NUM_THREADS=1 {}{}", pause, launcher,
                       test::cli_command(args));
}

std::vector<double> losses(const fs::path& metrics) {
    std::vector<double> out;
    std::ifstream in(metrics);
    for (std::string line; std::getline(in, line);)
        out.push_back(nlohmann::json::parse(line)["loss"].get<double>());
    return out;
}

// Staging directories and temporary files anywhere below `root`.
std::vector<fs::path> leftovers(const fs::path& root) {
    std::vector<fs::path> out;
    for (const auto& e : fs::recursive_directory_iterator(root))
        if (e.path().filename().string().find(".tmp.") != std::string::npos)
            out.push_back(e.path());
    return out;
}

// Every file of checkpoint `a` has the bytes of the same file in `b`.
void expect_same_checkpoint(const fs::path& a, const fs::path& b) {
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(a)) {
        INFO(e.path().filename().string());
        CHECK(read_file(e.path()) == read_file(b / e.path().filename()));
        ++files;
    }
    CHECK(files == 4);
}

void expect_ok(const test::CliResult& r) {
    INFO(r.output);
    REQUIRE(r.status == 0);
}

// Reads the log of the runs, to show it when a check fails.
std::string log_of(const Setup& s) {
    const std::vector<std::byte> bytes = read_file(s.root / "log.txt");
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// A fresh run into `dir`, started so that it can be killed with all its ranks.
test::KillableRun start_killable(const Setup& s, const fs::path& dir, Saving saving) {
    const std::string launcher =
        s.rank_pids.empty() ? s.launcher : s.launcher + test::pid_recorder(s.rank_pids);
    return test::KillableRun(command(launcher, saving.pause_ms, fresh_run(s, dir, saving.every)),
                             s.root / "log.txt", s.rank_pids);
}

// Waits for the run's first checkpoint; false when the run ended without one.
bool wait_for_checkpoint(test::KillableRun& run, const fs::path& dir) {
    while (!is_checkpoint(dir)) {
        if (!run.running()) return is_checkpoint(dir);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

// An uninterrupted run: its losses, final checkpoint, and the time from its first checkpoint to
// its last, over which the killed runs' kill moments spread.
struct Reference {
    std::vector<double> losses;
    fs::path checkpoint;
    Clock::duration saving_time;
};

Reference reference_run(const Setup& s, Saving saving) {
    const fs::path dir = s.root / fmt::format("reference_{}", saving.every);
    test::KillableRun run = start_killable(s, dir, saving);
    INFO("log of the runs:\n", log_of(s));
    REQUIRE(wait_for_checkpoint(run, dir));
    const Clock::time_point first = Clock::now();
    while (run.running() && read_trainer_state(dir).step < steps)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const Clock::duration saving_time = Clock::now() - first;
    while (run.running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    REQUIRE(run.kill_all() == 0);  // it had exited by itself, successfully
    Reference r{losses(dir.string() + ".jsonl"), dir, saving_time};
    REQUIRE(r.losses.size() == steps);
    return r;
}

// Starts a fresh run into `dir` and SIGKILLs it (and its ranks) at a random moment within
// `window` after its first checkpoint. The step of the checkpoint it left, or nothing when the
// run had ended or saved its last step before the kill: such a round has nothing to resume.
std::optional<std::int64_t> killed_run(const Setup& s, const fs::path& dir, Saving saving,
                                       Clock::duration window, std::mt19937& rng) {
    fs::remove_all(dir);
    fs::remove(dir.string() + ".jsonl");
    test::KillableRun run = start_killable(s, dir, saving);
    INFO("log of the runs:\n", log_of(s));
    REQUIRE(wait_for_checkpoint(run, dir));
    const auto window_us = std::chrono::duration_cast<std::chrono::microseconds>(window).count();
    const auto wait_us = std::uniform_int_distribution<std::int64_t>(0, window_us)(rng);
    std::this_thread::sleep_for(std::chrono::microseconds(wait_us));
    const int status = run.kill_all();
    INFO("killed ", wait_us, " µs after the first checkpoint; log:\n", log_of(s));
    const std::int64_t step = read_trainer_state(dir).step;
    CHECK((step % saving.every == 0 || step == steps));
    if (!WIFSIGNALED(status) || step == steps) return std::nullopt;
    return step;
}

// `tapegrad info` reads the killed run's checkpoint and names the staging a kill inside a save
// left; true when there was some.
bool check_info(const Setup& s, const fs::path& dir) {
    const bool inside_save = !leftovers(s.root).empty();
    const test::CliResult info = test::run_cli({"info", dir.string()});
    expect_ok(info);
    CHECK(info.output.find("training checkpoint at step") != std::string::npos);
    CHECK((info.output.find("stale staging") != std::string::npos) == inside_save);
    return inside_save;
}

// Resumes `dir` to the last step as the killed run was launched; its losses and final checkpoint
// must be the reference's bit for bit, and its saves must have removed every leftover.
void check_exact_resume(const Setup& s, const fs::path& dir, std::int64_t step,
                        const Reference& reference) {
    const fs::path metrics = s.root / "resumed.jsonl";
    fs::remove(metrics);
    expect_ok(test::run_command(command(s.launcher, 0, resumed_run(s, dir, metrics))));
    const std::vector<double> expected(reference.losses.begin() + step, reference.losses.end());
    CHECK(losses(metrics) == expected);
    expect_same_checkpoint(dir, reference.checkpoint);
    for (const fs::path& left : leftovers(s.root)) FAIL_CHECK("left behind: " << left.string());
}

using ResumeCheck = std::function<void(const fs::path& dir, std::int64_t step, const Reference&)>;

// Kills `wanted` runs before their last checkpoint, every other one with pauses inside its saves,
// and calls `resume_check` after each kill.
struct Tally {
    int rounds = 0;       // runs started; those that ended before their kill do not count
    int inside_save = 0;  // kills that left a staging directory
};

Tally kill_rounds(const Setup& s, int wanted, const ResumeCheck& resume_check) {
    const Reference plain = reference_run(s, plain_saves), paused = reference_run(s, paused_saves);
    CHECK(paused.losses == plain.losses);  // how often and how slowly a run saves changes nothing
    CHECK(paused.saving_time > std::chrono::milliseconds(10 * paused_saves.pause_ms));
    expect_same_checkpoint(paused.checkpoint, plain.checkpoint);
    std::mt19937 rng(26);
    const fs::path dir = s.root / "ckpt";
    // Kill moments spread over 90% of the uninterrupted run's time between its first and last
    // checkpoints; a round that ends before its kill (a quieter machine) shrinks its window.
    Clock::duration windows[2] = {plain.saving_time * 9 / 10, paused.saving_time * 9 / 10};
    Tally tally;
    for (int kills = 0; kills < wanted; ++tally.rounds) {
        REQUIRE(tally.rounds < 3 * wanted);
        const int round = tally.rounds;
        CAPTURE(round);
        Clock::duration& window = windows[round % 2];
        const auto step = killed_run(s, dir, round % 2 ? paused_saves : plain_saves, window, rng);
        if (!step) {
            window = window * 2 / 3;
            continue;
        }
        ++kills;
        tally.inside_save += check_info(s, dir);
        resume_check(dir, *step, plain);
    }
    return tally;
}

void report(const std::string& what, int kills, const Tally& tally, Clock::time_point start) {
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    MESSAGE(fmt::format("{}: {} kills in {} runs, {} of them inside a save, in {:.1f} s", what,
                        kills, tally.rounds, tally.inside_save, seconds));
}

}  // namespace

TEST_CASE(
    "kill: a run SIGKILLed at random moments resumes bit-exact and leaves no staging behind") {
    const Clock::time_point start = Clock::now();
    Setup s{.launcher = "", .dropout = "0.1", .root = test::scratch_dir("kill_one")};
    s.data = write_products(s.root);
    constexpr int kills = 20;
    const Tally tally =
        kill_rounds(s, kills, [&](const fs::path& dir, std::int64_t step, const Reference& ref) {
            check_exact_resume(s, dir, step, ref);
        });
    CHECK(tally.inside_save >= 3);  // half the rounds spend most of their time saving
    report("one process", kills, tally, start);
    fs::remove_all(s.root);
}

TEST_CASE("kill: mpirun -np 2 SIGKILLed at random moments resumes on 2 ranks and on 1") {
    if (!test::mpi_runnable()) return;
    const Clock::time_point start = Clock::now();
    Setup s{.dropout = "0", .root = test::scratch_dir("kill_mpi")};
    s.rank_pids = s.root / "rank_pids.txt";
    s.data = write_products(s.root);
    // A killed mpirun leaves its session directory and its ranks' shared memory files (8 MB a
    // run) where it put them: in a scratch directory of the test, not in /tmp and /dev/shm.
    const fs::path mpi_files = test::scratch_dir("kill_mpi_files");
    s.launcher =
        fmt::format("OMPI_MCA_orte_tmpdir_base={0} OMPI_MCA_btl_vader_backing_directory={0} ",
                    test::shell_quote(mpi_files.string())) +
        test::mpirun(2);
    constexpr int kills = 6;
    const fs::path alone = s.root / "alone";  // a copy of rank 0's checkpoint, resumed on 1
    const Tally tally =
        kill_rounds(s, kills, [&](const fs::path& dir, std::int64_t step, const Reference& ref) {
            fs::remove_all(alone);
            fs::copy(dir, alone, fs::copy_options::recursive);
            check_exact_resume(s, dir, step, ref);
            const fs::path metrics = s.root / "alone.jsonl";
            fs::remove(metrics);
            expect_ok(test::run_command(command("", 0, resumed_run(s, alone, metrics))));
            const std::vector<double> one = losses(metrics);  // the same batches, summed otherwise
            REQUIRE(one.size() == ref.losses.size() - std::size_t(step));
            for (std::size_t i = 0; i < one.size(); ++i)
                CHECK(one[i] == doctest::Approx(ref.losses[step + i]).epsilon(1e-5));
            CHECK(read_trainer_state(alone).step == steps);
        });
    report("mpirun -np 2", kills, tally, start);
    fs::remove_all(s.root);
    fs::remove_all(mpi_files);
}
