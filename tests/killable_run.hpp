// A shell command started in a session of its own, so that a test can SIGKILL it together with
// every process it started (mpirun's ranks put themselves in process groups of their own, but
// stay in the session).
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tapegrad::test {

// The session of `pid` from /proc/<pid>/stat, or 0 when the process is gone or a zombie (dead,
// only waiting to be reaped).
inline pid_t live_session(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto name_end = stat.rfind(')');  // the command name in parentheses may hold spaces
    if (name_end == std::string::npos) return 0;
    std::istringstream fields(stat.substr(name_end + 1));
    char state = 0;
    pid_t parent = 0, group = 0, session = 0;
    fields >> state >> parent >> group >> session;
    return fields && state != 'Z' ? session : 0;
}

inline std::vector<pid_t> session_members(pid_t session) {
    std::vector<pid_t> out;
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
        const std::string name = e.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        const pid_t pid = static_cast<pid_t>(std::stol(name));
        if (live_session(pid) == session) out.push_back(pid);
    }
    return out;
}

class KillableRun {
public:
    // Runs `env <command>` with sh (so `command` may begin with VAR=value settings), its output
    // appended to `log`.
    KillableRun(const std::string& command, const std::filesystem::path& log) {
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {
            ::setsid();  // session id = our pid
            const std::string line = "exec env " + command + " >> '" + log.string() + "' 2>&1";
            ::execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
    }
    ~KillableRun() {  // a failed check left it running
        try {
            if (pid_ > 0) kill_all();
        } catch (const std::exception&) {
        }
    }
    KillableRun(const KillableRun&) = delete;
    KillableRun& operator=(const KillableRun&) = delete;

    // True while the command has not exited (it may be a zombie: dead, not yet reaped).
    bool running() const { return live_session(pid_) != 0; }

    // SIGKILLs every process of the session until none is left, then reaps the command and
    // returns its wait status (WIFSIGNALED when killed; WIFEXITED when it had ended by itself).
    int kill_all() {
        ::kill(pid_, SIGKILL);  // it may not have called setsid yet
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        for (auto members = session_members(pid_); !members.empty();
             members = session_members(pid_)) {
            for (pid_t p : members) ::kill(p, SIGKILL);
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("processes survived SIGKILL for 10 s");
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return status;
    }

private:
    pid_t pid_ = -1;
};

}  // namespace tapegrad::test
