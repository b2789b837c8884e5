// Runs the built `tapegrad` program as a user would, for the command-line tests.
#pragma once

#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>
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

// A run that must succeed; its output is shown when it does not.
inline std::string succeeded(const CliResult& r) {
    INFO(r.output);
    REQUIRE(r.status == 0);
    return r.output;
}

// A run that must end with an error exit (not a crash: run_cli gives -1 for a signal) naming each
// of `parts`.
inline void fails_naming(const CliResult& r, std::initializer_list<std::string_view> parts) {
    INFO(r.output);
    CHECK(r.status > 0);
    for (std::string_view p : parts) CHECK_MESSAGE(r.output.find(p) != std::string::npos, p);
}

}  // namespace tapegrad::test
