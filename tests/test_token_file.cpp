#include <doctest/doctest.h>

#include <ostream>

#include "io/atomic_file.hpp"
#include "io/token_file.hpp"
#include "support.hpp"

using namespace tapegrad;
namespace fs = std::filesystem;

namespace {

std::vector<std::byte> bytes_of(std::string_view s) {
    const auto b = std::as_bytes(std::span(s.data(), s.size()));
    return {b.begin(), b.end()};
}

std::size_t entries_in(const fs::path& dir) {
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

}  // namespace

TEST_CASE("token_file: tokens round-trip and the header is llm.c's") {
    const std::vector<std::int32_t> tokens = {0, 1, 50256, 65535, 7};
    const std::vector<std::byte> bytes = serialize_token_file(tokens);
    REQUIRE(bytes.size() == 1024 + 2 * tokens.size());
    // magic 20240520 = 0x0134D888, version 1, count 5, all little-endian; then zeros to byte 1024.
    const std::vector<std::byte> head =
        bytes_of(std::string_view("\x88\xd8\x34\x01\x01\0\0\0\x05\0\0\0", 12));
    CHECK(std::equal(head.begin(), head.end(), bytes.begin()));
    CHECK(std::all_of(bytes.begin() + 12, bytes.begin() + 1024,
                      [](std::byte b) { return b == std::byte{0}; }));
    // 50256 = 0xC450 and 65535 = 0xFFFF as little-endian uint16.
    CHECK(bytes[1028] == std::byte{0x50});
    CHECK(bytes[1029] == std::byte{0xc4});
    CHECK(bytes[1030] == std::byte{0xff});
    CHECK(parse_token_file(bytes, "memory") == tokens);
    const fs::path dir = test::scratch_dir("tok_roundtrip");
    save_token_file(dir / "t.bin", tokens);
    CHECK(load_token_file(dir / "t.bin") == tokens);
    save_token_file(dir / "empty.bin", {});
    CHECK(load_token_file(dir / "empty.bin").empty());
    fs::remove_all(dir);
}

TEST_CASE("token_file: the file written by the Python fixture script loads") {
    const fs::path path = test::source_dir() / "tests/fixtures/bad_files/good_tokens.bin";
    CHECK(load_token_file(path) == std::vector<std::int32_t>{0, 1, 50256, 65535, 7});
    CHECK(serialize_token_file(load_token_file(path)) == read_file(path));
}

TEST_CASE("token_file: tokens outside uint16 are refused before anything is written") {
    const fs::path dir = test::scratch_dir("tok_range");
    const std::vector<std::int32_t> too_big = {1, 65536};
    test::check_throws_with<ValueError>([&] { save_token_file(dir / "t.bin", too_big); },
                                        {"token 65536 at index 1", "does not fit uint16"});
    const std::vector<std::int32_t> negative = {-1};
    test::check_throws_with<ValueError>([&] { serialize_token_file(negative); },
                                        {"token -1 at index 0"});
    CHECK(entries_in(dir) == 0);
    fs::remove_all(dir);
}

TEST_CASE("token_file: every prefix and every extension of a valid file is refused") {
    const std::vector<std::byte> good = serialize_token_file(std::vector<std::int32_t>{3, 1, 4});
    for (std::size_t n = 0; n < good.size(); ++n) {
        INFO("prefix of ", n, " bytes");
        CHECK_THROWS_AS(parse_token_file(std::span(good).first(n), "prefix"), IoError);
    }
    std::vector<std::byte> longer = good;
    longer.push_back(std::byte{0});
    test::check_throws_with<IoError>([&] { parse_token_file(longer, "t.bin"); },
                                     {"t.bin: 1 trailing bytes"});
}

TEST_CASE("atomic_file: a write replaces the file and leaves no temporary behind") {
    const fs::path dir = test::scratch_dir("atomic_ok");
    const fs::path path = dir / "f.txt";
    write_file_atomic(path, bytes_of("old"));
    write_file_atomic(path, [](std::ostream& out) { out << "new " << 42; });
    CHECK(read_file(path) == bytes_of("new 42"));
    CHECK(entries_in(dir) == 1);
    std::string big(300000, 'x');  // larger than the write buffer: goes straight to the file
    big[299999] = 'y';
    write_file_atomic(path, bytes_of(big));
    CHECK(read_file(path) == bytes_of(big));
    fs::remove_all(dir);
}

TEST_CASE("atomic_file: an injected write failure keeps the old file and removes the temporary") {
    const fs::path dir = test::scratch_dir("atomic_fail");
    const fs::path path = dir / "f.bin";
    write_file_atomic(path, bytes_of("previous contents"));
    for (std::size_t after : {std::size_t{0}, std::size_t{5}, std::size_t{70000}}) {
        INFO("failure after ", after, " bytes");
        detail::InjectWriteFailure disk_full(after);
        test::check_throws_with<IoError>(
            [&] { write_file_atomic(path, bytes_of(std::string(100000, 'z'))); },
            {path.string(), fmt::format("write failed after {} bytes", after)});
        CHECK(read_file(path) == bytes_of("previous contents"));
        CHECK(entries_in(dir) == 1);
    }
    fs::remove_all(dir);
}

TEST_CASE("atomic_file: an exception from the writer passes through and keeps the old file") {
    const fs::path dir = test::scratch_dir("atomic_throw");
    const fs::path path = dir / "f.bin";
    write_file_atomic(path, bytes_of("kept"));
    test::check_throws_with<ValueError>(
        [&] {
            write_file_atomic(path, [](std::ostream& out) {
                out << "partial";
                throw ValueError("writer gave up");
            });
        },
        {"writer gave up"});
    CHECK(read_file(path) == bytes_of("kept"));
    CHECK(entries_in(dir) == 1);
    fs::remove_all(dir);
}

TEST_CASE(
    "atomic_file: missing files, directories and missing folders are IoErrors naming the path") {
    const fs::path dir = test::scratch_dir("atomic_errors");
    test::check_throws_with<IoError>([&] { read_file(dir / "nope"); },
                                     {(dir / "nope").string(), "cannot open", "No such file"});
    test::check_throws_with<IoError>([&] { read_file(dir); }, {dir.string(), "is a directory"});
    test::check_throws_with<IoError>(
        [&] { write_file_atomic(dir / "no/such/f", bytes_of("x")); },
        {(dir / "no/such/f").string(), "cannot create temporary file"});
    test::check_throws_with<IoError>([&] { load_token_file(dir / "t.bin"); },
                                     {"t.bin", "No such file"});
    fs::remove_all(dir);
}
