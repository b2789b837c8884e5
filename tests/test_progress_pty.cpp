// The progress bar (train/progress.hpp) as a person sees it: driven in a pseudo-terminal, its
// bytes replayed on a small model of a terminal screen (carriage return, newline, erase to the
// end of the line), then the screen read back. Off a terminal it must write nothing.
#include <doctest/doctest.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>
#include <string>
#include <vector>

#include "train/progress.hpp"

using namespace tapegrad;

namespace {

// The lines a terminal shows after `bytes`: "\r" returns to column 0, later characters overwrite,
// "\n" starts the next line, ESC [ K erases from the cursor to the end of the line.
std::vector<std::string> screen(const std::string& bytes) {
    std::vector<std::string> lines(1);
    std::size_t col = 0;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const char c = bytes[i];
        if (c == '\r') {
            col = 0;
        } else if (c == '\n') {
            lines.emplace_back();
            col = 0;
        } else if (c == '\x1b' && bytes.compare(i, 3, "\x1b[K") == 0) {
            lines.back().resize(std::min(lines.back().size(), col));
            i += 2;
        } else {
            std::string& line = lines.back();
            if (col < line.size())
                line[col] = c;
            else
                line += c;
            ++col;
        }
    }
    if (lines.back().empty()) lines.pop_back();
    return lines;
}

std::string trimmed(std::string s) {
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
}

// The updates a short run makes: the numbers get shorter, so a stale tail would show.
void drive(ProgressBar& bar) {
    bar.update(1, 12.345678, 123456.0);
    bar.update(2, 13.25, 200000.0);
    bar.update(4, 0.5, 10.0);
    bar.finish();
}

// Runs drive() in a child whose stderr is a pseudo-terminal; everything it wrote there.
std::string run_in_pty() {
    int master = -1;
    const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ProgressBar bar(4);
        drive(bar);
        _exit(bar.enabled() ? 0 : 3);
    }
    std::string out;
    char buffer[512];
    for (ssize_t n; (n = read(master, buffer, sizeof buffer)) > 0;)
        out.append(buffer, std::size_t(n));
    close(master);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);  // 3: the bar thought it was not on a terminal
    return out;
}

}  // namespace

TEST_CASE("progress bar: in a terminal a person sees one line with step, loss, rate and ETA") {
    const std::string bytes = run_in_pty();
    const std::vector<std::string> lines = screen(bytes);
    INFO("bytes: ", bytes);
    REQUIRE(lines.size() == 1);  // every update redrew the same line, finish() ended it
    CHECK(trimmed(lines[0]) == "[========================] 4/4 loss 0.5000 10 tok/s ETA 0s");
    CHECK(bytes.back() == '\n');
    // Each frame before it showed its own step, loss, rate and an ETA.
    const std::regex frame(R"(\[=*\s*\] (\d)/4 loss (\d+\.\d{4}) (\d+) tok/s ETA (\d+)s)");
    std::vector<std::string> steps;
    for (std::sregex_iterator m(bytes.begin(), bytes.end(), frame), end; m != end; ++m)
        steps.push_back((*m)[1].str() + " " + (*m)[2].str() + " " + (*m)[3].str());
    CHECK(steps == std::vector<std::string>{"1 12.3457 123456", "2 13.2500 200000", "4 0.5000 10"});
    CHECK(bytes.find("[======      ") != std::string::npos);  // a quarter done: 6 of 24
}

TEST_CASE("progress bar: silent off a terminal and when quiet") {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        ProgressBar bar(4);
        drive(bar);
        _exit(bar.enabled() ? 3 : 0);
    }
    close(fds[1]);
    std::string out;
    char buffer[256];
    for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;)
        out.append(buffer, std::size_t(n));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(out.empty());
    ProgressBar quiet(4, /*quiet=*/true);
    CHECK_FALSE(quiet.enabled());
}
