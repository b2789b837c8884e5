#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "io/atomic_file.hpp"
#include "io/pretrained.hpp"
#include "io/safetensors.hpp"
#include "io/token_file.hpp"
#include "support.hpp"

using namespace tapegrad;
namespace fs = std::filesystem;

namespace {

fs::path bad_files() { return test::source_dir() / "tests/fixtures/bad_files"; }

std::span<const std::byte> as_bytes(std::string_view s) {
    return std::as_bytes(std::span(s.data(), s.size()));
}

// The reader a fixture file's extension selects: .bin token files, .json configs, else safetensors.
void load_by_extension(const fs::path& path) {
    if (path.extension() == ".bin") {
        load_token_file(path);
    } else if (path.extension() == ".json") {
        const std::vector<std::byte> bytes = read_file(path);
        parse_gpt_config({reinterpret_cast<const char*>(bytes.data()), bytes.size()},
                         path.string());
    } else {
        load_safetensors(path);
    }
}

// The tensors of SAMPLE in tests/fixtures/make_bad_files.py.
SafetensorsFile sample() {
    SafetensorsFile f;
    f.tensors["weight"] = from({1.0, -2.5, 0.25, 3.5, -0.125, 100.0}, {2, 3});
    f.tensors["bias"] = from({0.5, -1.25, 3.0}, {3}, {.dtype = f64});
    const std::int32_t ids_values[] = {0, -7, 50256, 2147483647};
    f.tensors["ids"] = ids(ids_values, {4});
    const std::uint8_t mask_values[] = {1, 0, 0, 1};
    f.tensors["mask"] = mask(mask_values, {2, 2});
    f.tensors["scalar"] = full({}, 42.0);
    f.tensors["empty"] = zeros({0, 3});
    f.metadata = {{"format", "pt"}, {"note", "written by make_bad_files.py"}};
    return f;
}

// Same names, dtypes, shapes, metadata and bytes.
void check_same(const SafetensorsFile& got, const SafetensorsFile& want) {
    CHECK(got.metadata == want.metadata);
    REQUIRE(got.tensors.size() == want.tensors.size());
    for (const auto& [name, w] : want.tensors) {
        INFO("tensor ", name);
        REQUIRE(got.tensors.count(name) == 1);
        const Tensor& g = got.tensors.at(name);
        CHECK(g.dtype() == w.dtype());
        CHECK(g.shape() == w.shape());
        CHECK(std::memcmp(g.raw_data(), w.raw_data(), g.numel() * dtype_size(g.dtype())) == 0);
    }
}

bool python_runs(std::string_view code) {
    return std::system(fmt::format("/usr/bin/python3 -c '{}' > /dev/null 2>&1", code).c_str()) == 0;
}

}  // namespace

TEST_CASE("safetensors: every dtype, an empty tensor, a scalar and metadata round-trip") {
    const SafetensorsFile want = sample();
    check_same(parse_safetensors(serialize_safetensors(want), "memory"), want);
    const fs::path path = test::scratch_dir("st_roundtrip") / "sample.safetensors";
    save_safetensors(path, want);
    const SafetensorsFile got = load_safetensors(path);
    check_same(got, want);
    CHECK(got.tensors.at("scalar").item() == 42.0);
    CHECK(got.tensors.at("ids").at({3}) == 2147483647.0);
    fs::remove_all(path.parent_path());
}

TEST_CASE("safetensors: a tiny file is byte for byte the hand-built layout") {
    SafetensorsFile f;
    f.tensors["a"] = from({1.0, -2.0}, {2});
    f.metadata["k"] = "v";
    // 79 bytes of JSON + 1 space of padding = 80 = 0x50; then 1.0f and -2.0f little-endian.
    const std::string header =
        R"({"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} )";
    std::string want("\x50\0\0\0\0\0\0\0", 8);
    want += header + std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8);
    const std::vector<std::byte> got = serialize_safetensors(f);
    CHECK(std::string(reinterpret_cast<const char*>(got.data()), got.size()) == want);
    // Nothing at all: "{}" padded to 8.
    const std::vector<std::byte> empty = serialize_safetensors({});
    CHECK(std::string(reinterpret_cast<const char*>(empty.data()), empty.size()) ==
          std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
    CHECK(parse_safetensors(empty, "empty").tensors.empty());
}

TEST_CASE("safetensors: the pure-Python writer's file loads and re-serializes to the same bytes") {
    const fs::path path = bad_files() / "good_python.safetensors";
    const SafetensorsFile got = load_safetensors(path);
    check_same(got, sample());
    CHECK(serialize_safetensors(got) == read_file(path));
}

TEST_CASE("safetensors: Python reads what we write") {
    if (!python_runs("import sys")) {
        MESSAGE("skipped: /usr/bin/python3 is not available");
        return;
    }
    const bool torch = python_runs("import safetensors.torch");
    if (!torch)
        MESSAGE("safetensors.torch is not installed: checking with the pure-Python reader only");
    const fs::path path = test::scratch_dir("st_python") / "ours.safetensors";
    save_safetensors(path, sample());
    const std::string command =
        fmt::format("/usr/bin/python3 '{}' check '{}' {}",
                    (test::source_dir() / "tests/fixtures/make_bad_files.py").string(),
                    path.string(), torch ? "--torch" : "");
    CHECK(std::system(command.c_str()) == 0);
    fs::remove_all(path.parent_path());
}

TEST_CASE("bad files: each malformed file is refused with a message naming the problem") {
    std::ifstream in(bad_files() / "expected.tsv");  // "<file>\t<phrase its error must contain>"
    REQUIRE(in);
    std::size_t listed = 0, bad_count = 0;
    for (std::string name, phrase; std::getline(in, name, '\t') && std::getline(in, phrase);
         ++listed) {
        INFO("file: ", name);
        const fs::path path = bad_files() / name;
        REQUIRE(fs::exists(path));
        test::check_throws_with<IoError>([&] { load_by_extension(path); }, {path.string(), phrase});
    }
    for (const auto& entry : fs::directory_iterator(bad_files()))
        bad_count += entry.path().filename().string().starts_with("bad_");
    CHECK(listed == bad_count);  // a new bad file needs its expected phrase
    CHECK(listed > 60);
    CHECK_NOTHROW(load_by_extension(bad_files() / "good_config.json"));
}

TEST_CASE("safetensors: every prefix and single-byte corruption of a valid file fails cleanly") {
    const std::vector<std::byte> good = serialize_safetensors(sample());
    for (std::size_t n = 0; n < good.size(); ++n) {
        INFO("prefix of ", n, " bytes");
        CHECK_THROWS_AS(parse_safetensors(std::span(good).first(n), "prefix"), IoError);
    }
    // Any outcome but a clean parse or an IoError (another exception, a crash) fails the test.
    const char replacements[] = {'\0', '\xff', '"', '}', '9', '-', ' ', '['};
    std::size_t refused = 0;
    for (std::size_t i = 0; i < good.size(); ++i) {
        for (char r : replacements) {
            std::vector<std::byte> bytes = good;
            bytes[i] = static_cast<std::byte>(r);
            try {
                parse_safetensors(bytes, "corrupt");
            } catch (const IoError&) {
                ++refused;
            }
        }
    }
    CHECK(refused > good.size());  // most corruptions are caught; the rest hit data bytes
}

TEST_CASE("safetensors: malformed headers in memory name the problem") {
    const auto parse = [](std::string_view header) {
        std::string bytes(8, '\0');
        bytes[0] = static_cast<char>(header.size());
        return parse_safetensors(as_bytes(bytes + std::string(header)), "mem.safetensors");
    };
    test::check_throws_with<IoError>(
        [&] { parse(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})"); },
        {"mem.safetensors: header is not valid JSON (file offset 61)"});  // 8 + 53
    test::check_throws_with<IoError>([&] { parse(R"({"__metadata__":[]})"); },
                                     {"__metadata__ is not an object"});
    test::check_throws_with<IoError>(
        [&] { parse(R"({"a":{"dtype":7,"shape":[],"data_offsets":[0,0]}})"); },
        {"tensor 'a': dtype is not a string (7)"});
    CHECK(parse(R"({"z":{"dtype":"F64","shape":[0],"data_offsets":[0,0]}}   )")
              .tensors.at("z")
              .numel() == 0);
}

TEST_CASE("safetensors: the writer refuses rank > 8, undefined, a reserved name, bad UTF-8") {
    SafetensorsFile f;
    f.tensors["deep"] = zeros({1, 1, 1, 1, 1, 1, 1, 1, 1});  // rank 9: tensors may, files may not
    test::check_throws_with<ValueError>([&] { serialize_safetensors(f); },
                                        {"tensor 'deep' [1,1,1,1,1,1,1,1,1]: rank 9 exceeds"});
    f.tensors.clear();
    f.tensors["x"] = Tensor();
    test::check_throws_with<ValueError>([&] { serialize_safetensors(f); },
                                        {"tensor 'x' is undefined"});
    f.tensors = {{"__metadata__", zeros({1})}};
    test::check_throws_with<ValueError>([&] { serialize_safetensors(f); },
                                        {"'__metadata__' is reserved"});
    f.tensors = {{"bad\xff", zeros({1})}};
    test::check_throws_with<ValueError>([&] { serialize_safetensors(f); }, {"not valid UTF-8"});
    f.tensors.clear();
    f.metadata = {{"k", "\xc0\x80"}};  // an overlong NUL
    test::check_throws_with<ValueError>([&] { serialize_safetensors(f); },
                                        {"metadata value of 'k'"});
}

TEST_CASE("safetensors: b8 is written as BOOL with nonzero bytes as 1") {
    SafetensorsFile f;
    const std::uint8_t values[] = {0, 5, 1, 255};
    f.tensors["m"] = mask(values, {4});
    const SafetensorsFile back = parse_safetensors(serialize_safetensors(f), "memory");
    CHECK(back.tensors.at("m").to_vector() == std::vector<double>{0, 1, 1, 1});
}

TEST_CASE("safetensors: a save that fails half way leaves the previous file intact") {
    const fs::path dir = test::scratch_dir("st_fail");
    const fs::path path = dir / "model.safetensors";
    save_safetensors(path, sample());
    const std::vector<std::byte> before = read_file(path);
    SafetensorsFile other;
    other.tensors["w"] = ones({1000});
    {
        detail::InjectWriteFailure disk_full(100);
        test::check_throws_with<IoError>(
            [&] { save_safetensors(path, other); },
            {path.string(), "write failed after 100 bytes", "No space left"});
    }
    CHECK(read_file(path) == before);
    CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) ==
          1);                       // no temporary left
    save_safetensors(path, other);  // the hook is gone with its scope
    CHECK(load_safetensors(path).tensors.at("w").numel() == 1000);
    fs::remove_all(dir);
}

TEST_CASE("safetensors: UTF-8 is checked by RFC 3629's rules in names and metadata") {
    const char* valid[] = {
        "plain",        "\xc3\xa9",         "\xe2\x82\xac",
        "\xed\x9f\xbf", "\xf0\x9d\x84\x9e", "\xf4\x8f\xbf\xbf"};  // é € U+D7FF 𝄞 U+10FFFF
    for (const char* text : valid) {
        INFO("text: ", text);
        SafetensorsFile f;
        f.metadata[text] = text;
        f.tensors[text] = zeros({1});
        const SafetensorsFile back = parse_safetensors(serialize_safetensors(f), "memory");
        CHECK(back.metadata.at(text) == text);
        CHECK(back.tensors.count(text) == 1);
    }
    const char* invalid[] = {
        "\x80",     "\xc1\xbf",         "\xe0\x80\x80",     "\xed\xa0\x80",
        "\xe2\x82", "\xf0\x80\x80\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80"};
    for (const char* text : invalid) {
        INFO("text: ", fmt::format("{:02x}", fmt::join(std::string_view(text), " ")));
        SafetensorsFile f;
        f.metadata["k"] = text;
        CHECK_THROWS_AS(serialize_safetensors(f), ValueError);
        const std::string header = fmt::format("{{\"__metadata__\":{{\"k\":\"{}\"}}}}", text);
        std::string bytes(8, '\0');
        bytes[0] = static_cast<char>(header.size());
        test::check_throws_with<IoError>([&] { parse_safetensors(as_bytes(bytes + header), "m"); },
                                         {"m: header is not valid UTF-8 (file offset 30)"});
    }
}
