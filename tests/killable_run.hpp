// A shell command that a test can SIGKILL together with every process it started, without /proc:
// CI may run the tests in a PID namespace of their own under the machine's /proc, where
// /proc/<pid> is some other process. The command runs in a process group of its own; processes
// that leave that group (mpirun's ranks each make a group of their own) list their pids in a file
// with `pid_recorder`. The test process becomes a child subreaper, so that processes orphaned by a
// kill come back to it and it can reap them: a killed process is only known gone once reaped.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.hpp"

namespace tapegrad::test {

// Put in front of a command (after a launcher such as mpirun): each process it starts appends
// its pid to `pid_file` before it becomes the command.
inline std::string pid_recorder(const std::filesystem::path& pid_file) {
    return "sh -c 'echo $$ >> \"$0\" && exec \"$@\"' " + shell_quote(pid_file.string()) + " ";
}

class KillableRun {
public:
    // Runs `env <command>` with sh (so `command` may begin with VAR=value settings), its output
    // appended to `log`. `pid_file` is where pid_recorder in `command` lists further processes.
    KillableRun(const std::string& command, const std::filesystem::path& log,
                std::filesystem::path pid_file = {})
        : pid_file_(std::move(pid_file)) {
        if (!pid_file_.empty()) std::filesystem::remove(pid_file_);
        if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) throw std::runtime_error("not a subreaper");
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {
            ::setpgid(0, 0);  // group id = our pid
            const std::string line = "exec env " + command + " >> '" + log.string() + "' 2>&1";
            ::execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::setpgid(pid_, pid_);  // also here: a kill before the child's own call must reach it
    }
    ~KillableRun() {  // a failed check left it running
        try {
            if (!finished_) kill_all();
        } catch (const std::exception&) {
        }
    }
    KillableRun(const KillableRun&) = delete;
    KillableRun& operator=(const KillableRun&) = delete;

    // True while the command has not exited; reaps it when it has.
    bool running() {
        if (!exited_ && ::waitpid(pid_, &status_, WNOHANG) == pid_) exited_ = true;
        return !exited_;
    }

    // SIGKILLs the command's group and the recorded processes until none is left, reaping them,
    // and returns the command's wait status (WIFSIGNALED when killed; WIFEXITED when it had ended
    // by itself).
    int kill_all() {
        if (finished_) return status_;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        for (;;) {
            std::vector<pid_t> alive;
            if (::kill(-pid_, SIGKILL) == 0) alive.push_back(-pid_);
            for (pid_t p : recorded())
                if (::kill(p, SIGKILL) == 0) alive.push_back(p);
            if (!exited_ && ::waitpid(pid_, &status_, 0) == pid_) exited_ = true;
            while (::waitpid(-1, nullptr, WNOHANG) > 0) {  // orphans handed to us
            }
            if (alive.empty()) {
                finished_ = true;  // its pids may be reused from now on
                return status_;
            }
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("processes survived SIGKILL for 10 s");
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }

private:
    std::vector<pid_t> recorded() const {
        std::vector<pid_t> out;
        if (pid_file_.empty()) return out;
        std::ifstream in(pid_file_);
        for (pid_t p; in >> p;)
            if (p > 0) out.push_back(p);
        return out;
    }

    pid_t pid_ = -1;
    int status_ = 0;
    bool exited_ = false, finished_ = false;
    std::filesystem::path pid_file_;
};

}  // namespace tapegrad::test
