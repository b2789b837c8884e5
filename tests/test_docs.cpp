// The docs cannot drift from the code: docs/tutorial.md quotes its C++ from compiled programs and
// shows what they print; docs/api.md names every public header.
//
// In docs/tutorial.md each ```cpp block follows a marker naming a file and a region,
//   <!-- example: examples/tutorial_luong.cpp tutorial:luong -->
// and equals the lines between "// [tutorial:luong]" and "// [/tutorial:luong]" of that file, less
// their common indentation. A ```text block after "<!-- output: examples/tutorial_luong.cpp -->"
// equals what the built program prints (checked when the examples were built, as by
// `bash scripts/dev test`).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "cli_runner.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace tapegrad;

namespace {

std::vector<std::string> read_lines(const fs::path& path) {
    std::ifstream in(path);
    REQUIRE_MESSAGE(in, "cannot read ", path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
    std::string out;
    for (const std::string& l : lines) out += l + "\n";
    return out;
}

// A fenced block of the markdown and the marker above it (empty when there is none).
struct Block {
    std::size_t line = 0;  // 1-based line of the opening fence
    std::string language, marker, text;
};

std::vector<Block> fenced_blocks(const std::vector<std::string>& md) {
    std::vector<Block> blocks;
    for (std::size_t i = 0; i < md.size(); ++i) {
        if (md[i].rfind("```", 0) != 0) continue;
        Block b{.line = i + 1, .language = md[i].substr(3)};
        if (i > 0 && md[i - 1].rfind("<!-- ", 0) == 0) b.marker = md[i - 1];
        for (++i; i < md.size() && md[i] != "```"; ++i) b.text += md[i] + "\n";
        blocks.push_back(b);
    }
    return blocks;
}

// The lines between "// [<region>]" and "// [/<region>]" of `file`, less their common indentation.
std::string region(const fs::path& file, const std::string& name) {
    const std::vector<std::string> lines = read_lines(file);
    const auto trimmed = [](const std::string& l) {
        return l.substr(std::min(l.find_first_not_of(' '), l.size()));
    };
    const auto begin = std::find_if(lines.begin(), lines.end(), [&](const std::string& l) {
        return trimmed(l) == "// [" + name + "]";
    });
    const auto end = std::find_if(begin, lines.end(), [&](const std::string& l) {
        return trimmed(l) == "// [/" + name + "]";
    });
    REQUIRE_MESSAGE((begin != lines.end() && end != lines.end()), file, " has no region ", name);
    std::size_t indent = std::string::npos;
    for (auto it = begin + 1; it != end; ++it)
        if (!trimmed(*it).empty()) indent = std::min(indent, it->find_first_not_of(' '));
    std::vector<std::string> body;
    for (auto it = begin + 1; it != end; ++it)
        body.push_back(it->size() > indent ? it->substr(indent) : "");
    return join_lines(body);
}

// Every "// [tutorial:...]" region opened in the tutorial examples, as "file region".
std::set<std::string> all_regions() {
    std::set<std::string> out;
    const std::regex open(R"(^\s*// \[(tutorial:[\w-]+)\]$)");
    for (const auto& entry : fs::directory_iterator(test::source_dir() / "examples")) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("tutorial_", 0) != 0) continue;
        std::smatch m;
        for (const std::string& line : read_lines(entry.path()))
            if (std::regex_match(line, m, open)) out.insert("examples/" + name + " " + m[1].str());
    }
    return out;
}

// stdout of a program run without arguments, or nullopt when it was not built.
std::optional<std::string> program_output(const fs::path& program) {
    if (!fs::exists(program)) return std::nullopt;
    const fs::path out = test::scratch_dir("docs_output") / "stdout.txt";
    const std::string command =
        test::shell_quote(program.string()) + " > " + test::shell_quote(out.string());
    REQUIRE_MESSAGE(std::system(command.c_str()) == 0, command);
    std::ifstream in(out);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("docs: every C++ block of the tutorial is a marked region of a compiled example") {
    const std::vector<Block> blocks =
        fenced_blocks(read_lines(test::source_dir() / "docs/tutorial.md"));
    const std::regex marker(R"(<!-- example: (examples/tutorial_\w+\.cpp) (tutorial:[\w-]+) -->)");
    std::set<std::string> quoted;
    for (const Block& b : blocks) {
        if (b.language != "cpp") continue;
        INFO("docs/tutorial.md:", b.line);
        std::smatch m;
        REQUIRE_MESSAGE(std::regex_match(b.marker, m, marker),
                        "a cpp block without an example marker");
        CHECK(b.text == region(test::source_dir() / m[1].str(), m[2].str()));
        quoted.insert(m[1].str() + " " + m[2].str());
    }
    CHECK(quoted.size() >= 8);
    CHECK(quoted == all_regions());  // no region of the examples is left out of the tutorial
}

TEST_CASE("docs: the tutorial shows what its examples print") {
    const std::vector<Block> blocks =
        fenced_blocks(read_lines(test::source_dir() / "docs/tutorial.md"));
    const std::regex marker(R"(<!-- output: examples/(tutorial_\w+)\.cpp -->)");
    const fs::path bin_dir = fs::path(TAPEGRAD_CLI).parent_path();
    std::size_t checked = 0, shown = 0;
    for (const Block& b : blocks) {
        std::smatch m;
        if (!std::regex_match(b.marker, m, marker)) continue;
        ++shown;
        INFO("docs/tutorial.md:", b.line, " shows the output of ", m[1].str());
        const std::optional<std::string> printed = program_output(bin_dir / m[1].str());
        if (!printed) continue;
        CHECK(b.text == *printed);
        ++checked;
    }
    CHECK(shown >= 4);
    if (checked < shown) MESSAGE("examples not built: ", shown - checked, " outputs unchecked");
}

TEST_CASE("docs: api.md covers every public header and names only existing ones") {
    const std::string api = join_lines(read_lines(test::source_dir() / "docs/api.md"));
    const std::regex header(
        R"(`<tapegrad/((?:core|autograd|layers|optim|io|train|check|viz)/[\w/]+\.hpp)>`)");
    std::set<std::string> named;
    for (std::sregex_iterator it(api.begin(), api.end(), header), end; it != end; ++it) {
        named.insert((*it)[1].str());
        CHECK_MESSAGE(fs::exists(test::source_dir() / (*it)[1].str()), (*it)[1].str());
    }
    for (const char* dir : {"core", "autograd", "layers", "optim", "io", "train", "check", "viz"})
        for (const auto& entry : fs::recursive_directory_iterator(test::source_dir() / dir)) {
            const std::string path =
                fs::relative(entry.path(), test::source_dir()).generic_string();
            const bool internal =
                path.rfind("core/kernels/", 0) == 0 || path == "io/json_strict.hpp";
            if (entry.path().extension() == ".hpp" && !internal)
                CHECK_MESSAGE(named.count(path) == 1, path, " is missing from docs/api.md");
        }
}

namespace {

// Headers reached from `header` through its includes, transitively (root-relative names).
void quoted_includes(const std::string& header, std::set<std::string>& seen) {
    // "core/tensor.hpp", or <tapegrad/version.hpp>: generated, so not followed
    static const std::regex include(R"re(^#include (?:"|<tapegrad/)([\w/]+\.hpp)[">])re");
    for (const std::string& line : read_lines(test::source_dir() / header)) {
        std::smatch m;
        if (std::regex_search(line, m, include) && seen.insert(m[1].str()).second &&
            fs::exists(test::source_dir() / m[1].str()))
            quoted_includes(m[1].str(), seen);
    }
}

}  // namespace

TEST_CASE("docs: the umbrella tapegrad.hpp brings every public header api.md lists, and no other") {
    std::set<std::string> reached;
    quoted_includes("tapegrad.hpp", reached);
    const std::regex entry(R"(^`<tapegrad/([\w/]+\.hpp)>`(.*))");
    int listed = 0;
    for (const std::string& line : read_lines(test::source_dir() / "docs/api.md")) {
        std::smatch m;
        if (!std::regex_search(line, m, entry)) continue;
        ++listed;
        const bool left_out = m[2].str().find("internal") != std::string::npos ||
                              m[2].str().find("not in the umbrella") != std::string::npos;
        CHECK_MESSAGE(reached.count(m[1].str()) == !left_out, m[1].str());
    }
    CHECK(listed > 60);
}
