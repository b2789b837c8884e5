// Programs linked with tapegrad start with GOMP_SPINCOUNT=300 (a short spin, then sleep) unless the
// user chose a wait policy (core/kernels/gemm.cpp). libgomp prints the settings it read at start when
// OMP_DISPLAY_ENV=verbose: once per program image, so a re-executed program prints twice.
#include <doctest/doctest.h>

#include <string>

#include "cli_runner.hpp"

using namespace tapegrad::test;

namespace {

int count(const std::string& text, const std::string& what) {
    int n = 0;
    for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

// What libgomp read last: the value printed in the final display block.
std::string last_setting(const std::string& text, const std::string& name) {
    const std::size_t at = text.rfind("  " + name + " = '");
    if (at == std::string::npos) return "(not shown)";
    const std::size_t begin = at + name.size() + 6;
    return text.substr(begin, text.find('\'', begin) - begin);
}

CliResult version_with(const std::string& environment) {
    return run_command("env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT OMP_DISPLAY_ENV=verbose " + environment +
                       " " + cli_command({"--version"}));
}

}  // namespace

TEST_CASE("OpenMP wait policy: a short spin by default, the user's choice otherwise") {
    const CliResult by_default = version_with("");
    REQUIRE(by_default.status == 0);
    CHECK(count(by_default.output, "OPENMP DISPLAY ENVIRONMENT BEGIN") == 2);  // started, re-executed
    CHECK(last_setting(by_default.output, "GOMP_SPINCOUNT") == "300");  // then threads sleep

    const CliResult active = version_with("OMP_WAIT_POLICY=active");
    REQUIRE(active.status == 0);
    CHECK(count(active.output, "OPENMP DISPLAY ENVIRONMENT BEGIN") == 1);
    CHECK(last_setting(active.output, "OMP_WAIT_POLICY") == "ACTIVE");

    const CliResult spin = version_with("GOMP_SPINCOUNT=5000");
    REQUIRE(spin.status == 0);
    CHECK(count(spin.output, "OPENMP DISPLAY ENVIRONMENT BEGIN") == 1);
    CHECK(last_setting(spin.output, "GOMP_SPINCOUNT") == "5000");
}
