// Runs the built `tapegrad` program as a user would, for the command-line tests.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <vector>

namespace tapegrad::test {

struct CliResult {
    int status = -1;     // exit status; -1 when the program died from a signal
    std::string output;  // stdout and stderr, interleaved
};

inline std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// The program and its arguments, each quoted for the shell.
inline std::string cli_command(const std::vector<std::string>& args) {
    std::string command = shell_quote(TAPEGRAD_CLI);
    for (const std::string& a : args) {
        command += ' ';
        command += shell_quote(a);
    }
    return command;
}

// Runs a shell command line (e.g. a launcher in front of cli_command(...)).
inline CliResult run_command(std::string command) {
    command += " 2>&1";
    CliResult result;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return result;
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) result.output.append(buffer, n);
    const int status = ::pclose(pipe);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

inline CliResult run_cli(const std::vector<std::string>& args) {
    return run_command(cli_command(args));
}

}  // namespace tapegrad::test
